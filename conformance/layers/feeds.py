"""`feed_records_changes`: a feed (`records`) lists the state changes of what it watches.

A record created in a watched resource enters its first state, so the feed's first page must
hold an entry that names the new record's id (Onfido's and Persona's event lists).
"""

import json

from conformance.http import TranscriptClient
from conformance.records import create_record, creator_of, items_from
from conformance.requests import headers_for, params_for, path_for
from conformance.tally import Tally
from conformance.target import Target

NOT_LISTED = "{op}: no entry of the feed names the {resource} {id} just created"
NO_LIST = "the feed has no list operation"


def check_feed(
    client: TranscriptClient, target: Target, resource: str, tally: Tally | None
) -> None:
    spec = target.spec
    feed = spec.resources[resource].feed
    if tally is None or feed is None:
        return
    lists = spec.operations_of(resource, "list")
    watched = next((w for w in feed.of if creator_of(spec, w) is not None), None)
    if not lists or watched is None:
        tally.skip(NO_LIST if not lists else "no watched resource has a create operation")
        return
    client.take()
    creator = creator_of(spec, watched)
    if creator is None:
        return
    created, _ = create_record(client, creator, target.token)
    if created is None:
        client.take()
        return
    op = lists[0]
    exchange = client.request(
        op.method,
        path_for(op),
        headers=headers_for(op, target, target.token),
        params=params_for(op, target.token) or None,
    )
    tally.ran()
    entries = items_from(op, exchange) or []
    if not any(created.id in json.dumps(entry) for entry in entries):
        tally.fail(
            NOT_LISTED.format(op=op.operation_id, resource=watched, id=created.id),
            client.exchanges,
        )
    client.take()
