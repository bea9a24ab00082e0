"""Schemathesis' two stateful checks, done directly: a created record is there, a deleted one
is gone.

Schemathesis decides `ensure_resource_availability` and `use_after_free` inside its state
machine, from OpenAPI links between operations; our specs declare the relationship in
`x-operation` roles instead of links. Driving the sequence ourselves (create → read → delete →
read) checks the same properties with one readable transcript per resource.
"""

from conformance.http import TranscriptClient
from conformance.records import GONE_STATUSES, GONE_TEXT, Created, create_record, creator_of
from conformance.requests import headers_for, params_for
from conformance.results import Exchange
from conformance.tally import Tally
from conformance.target import Target
from kycspec.model import Operation

NO_CREATE = "the resource has no create operation"
NO_READ = "the resource has no read operation"
STILL_THERE = "{op}: a deleted {resource} answered {answer}, not {gone}"


def check_stateful(
    client: TranscriptClient, target: Target, resource: str, tallies: dict[str, Tally]
) -> None:
    """Create a record, read it back, and (if the API deletes) delete it and read again."""
    available = tallies.get("ensure_resource_availability")
    after_free = tallies.get("use_after_free")
    spec = target.spec
    creator = creator_of(spec, resource)
    readers = spec.operations_of(resource, "read")
    deleters = spec.operations_of(resource, "delete")
    if creator is None or not readers:
        for tally in (available, after_free):
            if tally is not None:
                tally.skip(NO_CREATE if creator is None else NO_READ)
        return
    client.take()
    created, exchange = create_record(client, creator, target.token)
    if created is None:
        if available is not None:
            available.ran(unit=resource)
            available.fail(
                f"{creator.operation_id}: could not create the {resource} record "
                f"(got {exchange.status or exchange.error})",
                client.take(),
            )
        return
    reader = readers[0]
    read = _request(client, target, reader, created)
    if available is not None:
        available.ran(unit=resource)
        if read.status != reader.success_status:
            available.fail(
                f"{reader.operation_id}: the {resource} record just created with "
                f"{creator.operation_id} answered {read.status or read.error}, "
                f"not {reader.success_status}",
                client.exchanges,
            )
    if after_free is None or not deleters:
        client.take()
        return
    deleter = deleters[0]
    deleted = _request(client, target, deleter, created)
    if deleted.status != deleter.success_status:
        after_free.fail(
            f"{deleter.operation_id}: deleting the {resource} record answered "
            f"{deleted.status or deleted.error}, not {deleter.success_status}",
            client.take(),
        )
        return
    again = _request(client, target, reader, created)
    after_free.ran(unit=resource)
    if again.status not in GONE_STATUSES:
        answer = again.status or again.error
        message = STILL_THERE.format(
            op=reader.operation_id, resource=resource, answer=answer, gone=GONE_TEXT
        )
        after_free.fail(message, client.exchanges)
    client.take()


def _request(client: TranscriptClient, target: Target, op: Operation, created: Created) -> Exchange:
    """`op` on the created record, as the target's main account."""
    return client.request(
        op.method,
        created.path(op),
        headers=headers_for(op, target, target.token),
        params=params_for(op, target.token) or None,
    )
