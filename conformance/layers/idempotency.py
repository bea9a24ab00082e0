"""`idempotent_retries`: a write retried with the same idempotency key is answered once.

Stripe's semantics, which a spec declares with `x-idempotency: {header: Idempotency-Key}`: the
same key and body get the first answer again and write nothing (the same record id); the same
key with another body is refused with a 400 (https://docs.stripe.com/api/idempotent_requests).
"""

import uuid
from typing import Any

from conformance.http import TranscriptClient
from conformance.records import create_record, creator_of
from conformance.requests import valid_body
from conformance.tally import Tally
from conformance.target import Target
from kycspec.model import Operation

NO_CREATE = "the resource has no create operation"
RETRY_DIFFERS = "{op}: a retry with the same {header} answered {answer}, not the first answer"
OTHER_BODY_ACCEPTED = "{op}: the same {header} with another body answered {answer}, not 400"


def _other_body(op: Operation) -> dict[str, Any] | None:
    """Overrides that change one free-text field of a valid body (same length), if any."""
    _, payload = valid_body(op)
    properties = (op.request_schema or {}).get("properties", {})
    for name, value in (payload or {}).items():
        schema = properties.get(name, {})
        free = not any(k in schema for k in ("enum", "format", "pattern"))
        if isinstance(value, str) and value and free:
            return {name: value[:-1] + ("y" if value[-1] != "y" else "z")}
    return None


def check_idempotency(
    client: TranscriptClient, target: Target, resource: str, tally: Tally | None
) -> None:
    header = target.spec.idempotency_header
    if tally is None or header is None:
        return
    creator = creator_of(target.spec, resource)
    if creator is None:
        tally.skip(NO_CREATE)
        return
    client.take()
    sent = {header: f"conformance-{uuid.uuid4()}"}
    first, _ = create_record(client, creator, target.token, headers=sent)
    if first is None:
        client.take()
        return
    again, exchange = create_record(
        client, creator, target.token, headers=sent, parents=first.params
    )
    tally.ran()
    if again is None or again.id != first.id:
        answer = exchange.status if again is None else f"another record ({again.id})"
        tally.fail(
            RETRY_DIFFERS.format(op=creator.operation_id, header=header, answer=answer),
            client.take(),
        )
        return
    changed = _other_body(creator)
    if changed is not None:
        _, other = create_record(
            client, creator, target.token, headers=sent, overrides=changed, parents=first.params
        )
        if other.status != 400:
            answer = other.status or other.error
            tally.fail(
                OTHER_BODY_ACCEPTED.format(op=creator.operation_id, header=header, answer=answer),
                client.exchanges,
            )
    client.take()
