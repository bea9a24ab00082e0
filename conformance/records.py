"""Records seen through an API: create one, and find records inside documented envelopes.

Each vendor wraps records differently (`{"data": ...}`, `{"success": true, "data": ...}`, or
bare); the spec's `x-operation.response` template says where `$record` and `$items` sit, so the
layers never hard-code an envelope.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.http import TranscriptClient
from conformance.requests import body_kwargs, headers_for, params_for, path_for, valid_body
from conformance.results import Exchange
from kycspec.model import ApiSpec, Operation, Resource
from kycspec.types import JSON, JSONObject

# A record that was deleted answers one of these (RFC 9110: 404 Not Found, 410 Gone).
GONE_STATUSES = (404, 410)
GONE_TEXT = " or ".join(map(str, GONE_STATUSES))


def _find(template: JSON, marker: str) -> tuple[str, ...] | None:
    if template == marker:
        return ()
    if isinstance(template, Mapping):
        for key, value in template.items():
            found = _find(value, marker)
            if found is not None:
                return (key, *found)
    return None


def envelope_path(op: Operation, marker: str = "$record") -> tuple[str, ...] | None:
    """The key path to `marker` (`$record`, `$items`, `$has_more`) in the response envelope.

    The envelope is the operation's `x-operation.response` template (a bare `$record` when it
    declares none); None when the template has no such marker.
    """
    return _find(op.raw.get("x-operation", {}).get("response", "$record"), marker)


def value_in(op: Operation, body: JSON, marker: str) -> tuple[bool, JSON]:
    """Whether the envelope holds `marker`, and the body's value there (None when absent)."""
    path = envelope_path(op, marker)
    if path is None:
        return False, None
    node = body
    for key in path:
        if not isinstance(node, Mapping):
            return True, None
        node = node.get(key)
    return True, node


def parse_json(exchange: Exchange) -> JSON:
    """The response body as JSON, or None when there is none or it is not JSON."""
    try:
        return json.loads(exchange.response_body or b"")
    except ValueError:
        return None


def record_from(op: Operation, exchange: Exchange) -> JSONObject | None:
    """The record in a create/read/update/transition response (per `$record` in the template)."""
    _, record = value_in(op, parse_json(exchange), "$record")
    return record if isinstance(record, dict) else None


def items_from(op: Operation, exchange: Exchange) -> list[JSONObject] | None:
    """The records of a list response (per `$items` in the template)."""
    _, items = value_in(op, parse_json(exchange), "$items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else None


@dataclass
class Created:
    """A record made for a check: its id, the path parameters that reach it, the evidence."""

    op: Operation
    record: JSONObject
    params: dict[str, str] = field(default_factory=dict)
    exchange: Exchange | None = None

    @property
    def id(self) -> str:
        return str(self.record.get(self.op.resource.id_field))

    def key_for(self, op: Operation) -> str:
        """The value of `op`'s record path parameter (the id, or the lookup field's value)."""
        if op.lookup is not None:
            root, path = op.lookup.source
            if root == "path" and path and path[0] in self.params:
                return self.params[path[0]]
            return str(self.record.get(op.lookup.field, ""))
        return self.id

    def path(self, op: Operation) -> str:
        return path_for(op, self.key_for(op), self.params)


def creator_of(spec: ApiSpec, resource: str) -> Operation | None:
    """The create operation of a resource (the first one, when there are several)."""
    ops = spec.operations_of(resource, "create")
    return ops[0] if ops else None


def create_record(
    client: TranscriptClient,
    op: Operation,
    token: str | None,
    *,
    headers: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    parents: Mapping[str, str] | None = None,
) -> tuple[Created | None, Exchange]:
    """Create one record with a minimal valid request; `(None, exchange)` when that fails.

    A child resource's parents are created first (as the same caller), and their ids fill
    the path (or `parents` names existing ones).
    """
    params = {p["name"]: _path_value(p, op) for p in op.parameters if p.get("in") == "path"}
    if parents is None:
        parents, failed = create_parents(client, op.resource, token)
        if failed is not None:
            return None, failed
    params.update(parents)
    content_type, payload = valid_body(op, overrides)
    sent = {**headers_for(op, client.target, token), **(headers or {})}
    exchange = client.request(
        op.method,
        path_for(op, None, params),
        headers=sent,
        params=params_for(op, token) or None,
        **body_kwargs(op, content_type, payload),
    )
    if exchange.status != op.success_status:
        return None, exchange
    record = record_from(op, exchange)
    if not record or record.get(op.resource.id_field) is None:
        return None, exchange
    return Created(op, record, params, exchange), exchange


def create_parents(
    client: TranscriptClient, resource: Resource, token: str | None
) -> tuple[dict[str, str], Exchange | None]:
    """Path values naming a new parent (and its parents) of `resource`; `{}` for no parent.

    Returns the values, and the exchange that failed when a parent could not be created.
    """
    parent = resource.parent
    if parent is None:
        return {}, None
    creator = creator_of(client.target.spec, parent.resource)
    if creator is None:
        return {}, None
    created, exchange = create_record(client, creator, token)
    if created is None:
        return {}, exchange
    return {**created.params, parent.param: created.id}, None


def _path_value(param: JSONObject, op: Operation) -> str:
    # A create's path names the parent (FinHub's customer): a fixed, obviously fake value keeps
    # every transcript readable and lets `lookup` operations find the record again.
    example = param.get("example") or param.get("schema", {}).get("example")
    return str(example) if example else "conformance"
