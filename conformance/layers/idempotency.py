"""`idempotent_retries`: a write retried with the same idempotency key is answered once.

Stripe's semantics, which a spec declares with `x-idempotency: {header: Idempotency-Key}`: the
same key and body get the first answer again and write nothing (the same record id); the same
key with another body is refused in the `idempotency_key_reused` kind, with the status and
envelope `x-errors` declares for it (Stripe: a 400 whose type is `idempotency_error`,
https://docs.stripe.com/api/idempotent_requests).
"""

import uuid
from typing import Any

from conformance.envelopes import error_problem
from conformance.http import TranscriptClient
from conformance.records import create_record, creator_of, parse_json
from conformance.requests import example_value, valid_body
from conformance.tally import Tally
from conformance.target import Target
from kycspec.model import Operation

NO_CREATE = "the resource has no create operation"
NO_OTHER_BODY = "the same key with another body (the create has no field to change)"
RETRY_DIFFERS = "{op}: a retry with the same {header} answered {answer}, not the first answer"
OTHER_BODY_ACCEPTED = "{op}: the same {header} with another body {problem}"
REUSED = "idempotency_key_reused"


def _other_body(op: Operation) -> dict[str, Any] | None:
    """Overrides that make another valid body: one free-text field changed (same length), else
    one the body left out added with an example value; None when there is neither."""
    _, payload = valid_body(op)
    properties = (op.request_schema or {}).get("properties", {})
    for name, value in (payload or {}).items():
        schema = properties.get(name, {})
        free = not any(k in schema for k in ("enum", "format", "pattern"))
        if isinstance(value, str) and value and free:
            return {name: value[:-1] + ("y" if value[-1] != "y" else "z")}
    status = op.resource.status_field
    for name, schema in properties.items():
        if name not in (payload or {}) and name != status and not schema.get("readOnly"):
            return {name: example_value(schema)}
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
    if changed is None:
        tally.unchecked_part(NO_OTHER_BODY)
    else:
        _, other = create_record(
            client, creator, target.token, headers=sent, overrides=changed, parents=first.params
        )
        errors = target.spec.errors
        expected = errors.status(REUSED)
        problem = error_problem(errors, REUSED, other.status, parse_json(other), expected)
        if problem:
            tally.fail(
                OTHER_BODY_ACCEPTED.format(op=creator.operation_id, header=header, problem=problem),
                client.exchanges,
            )
    client.take()
