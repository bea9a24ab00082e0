"""Idempotent writes with Stripe's semantics (`x-idempotency: {header: Idempotency-Key}`).

The first successful answer to a write that carries a key is kept in the caller's sandbox, and
a key belongs to the sandbox, not to one operation. The same key with the same operation, path,
query and body gets that answer again, with `Idempotent-Replayed: true`, and nothing is written
twice; the same key with anything else (another body, or another endpoint) is refused in the
`idempotency_key_reused` kind: a 400, as Stripe does (https://docs.stripe.com/api/idempotent_requests),
unless the spec's `x-errors.statuses` names another. Keys are kept like
records, so a sandbox reset forgets them. GET requests ignore the key (they are idempotent
already, RFC 9110 9.2.2).
"""

import json
from typing import Any

from kycspec.model import Operation
from mockserver import errors
from mockserver.store import Collection, Store

COLLECTION = "__idempotency__"  # never a resource name: not an identifier a spec can declare
KEY_FIELD = "key"
REPLAYED_HEADER = "Idempotent-Replayed"  # Stripe's mark on an answer given again


def _keys(store: Store, api: str, sandbox: str) -> Collection:
    return store.collection(sandbox, (api, COLLECTION, ()), KEY_FIELD, ())


def fingerprint(op: Operation, path: Any, query: Any, body: Any) -> str:
    """What makes two requests the same request (an upload by its file name and size)."""
    return json.dumps([op.operation_id, path, query, body], sort_keys=True, default=_upload)


def _upload(value: Any) -> str:
    return f"{getattr(value, 'filename', '')}:{getattr(value, 'size', '')}"


def recall(
    store: Store, api: str, sandbox: str, key: str, print_: str, *, reused_status: int
) -> tuple[int, Any, dict[str, str]] | None:
    """The answer (status, body, header fields) kept for `key`, or None when there is none yet.

    Raises `errors.IdempotencyKeyReused` with `reused_status` when the key was used for another
    request.
    """
    stored = _keys(store, api, sandbox).get(key)
    if stored is None:
        return None
    if stored["fingerprint"] != print_:
        raise errors.IdempotencyKeyReused(
            errors.IDEMPOTENCY_KEY_REUSED.format(key=key), status=reused_status
        )
    headers = {**stored.get("headers", {}), REPLAYED_HEADER: "true"}  # none in an old store
    return stored["status"], stored["body"], headers


def remember(store: Store, api: str, sandbox: str, key: str, print_: str, answer: Any) -> None:
    """Keep a successful answer (status, body, header fields) under `key`, with the request it
    answered; called when the request's writes commit, so a request that failed keeps nothing."""
    status, body, headers = answer
    if 200 <= status < 300:
        _keys(store, api, sandbox).insert(
            {
                KEY_FIELD: key,
                "fingerprint": print_,
                "status": status,
                "body": body,
                "headers": headers,
            }
        )
