"""The spec model: what the `x-` extensions of one API declare, compiled for use."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kycspec.expressions import Condition, Value
from kycspec.lifecycle import Lifecycle, Transition
from kycspec.types import JSONObject
from kycspec.webhooks import Webhooks

ROLES = ("create", "list", "read", "update", "delete", "transition")
ERROR_KINDS = (
    "invalid_request",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "invalid_transition",
    "guard_failed",
    "payload_too_large",
    "unsupported_media_type",
    "not_acceptable",
    "internal_error",
)


@dataclass(frozen=True)
class Resource:
    """A stateful resource (`x-resources`)."""

    name: str
    schema: JSONObject
    id_field: str
    id_format: str
    time_format: str
    created_field: str
    updated_field: str
    partition: tuple[str, ...]
    defaults: Mapping[str, Value]
    derived: Mapping[str, Value]
    lifecycle: Lifecycle | None
    raw: Mapping[str, Any]

    @property
    def status_field(self) -> str | None:
        return self.lifecycle.field if self.lifecycle else None


@dataclass(frozen=True)
class Filter:
    """A list filter from a query parameter's `x-filter`."""

    param: str
    field: str
    op: str = "eq"


@dataclass(frozen=True)
class Paging:
    """How a list operation pages: its size parameter and its way to the next page."""

    limit_param: str | None
    default_limit: int
    max_limit: int | None
    style: str | None  # "starting_after", "cursor" or None
    page_param: str | None


@dataclass(frozen=True)
class Collect:
    """`collect`: add an item to an object field of the record, keyed by a value."""

    into: str
    key: Value
    item: Value
    as_field: str | None


@dataclass(frozen=True)
class Lookup:
    """Find the record by another field (the newest match) instead of its id."""

    field: str
    source: tuple[str, tuple[str, ...]]  # ("path", ("customerId",))


@dataclass(frozen=True)
class Magic:
    """A sandbox magic value: for these operations, when the condition holds, set values."""

    description: str
    operations: tuple[str, ...]
    when: Condition
    set: Mapping[str, Value]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Operation:
    """One operation with its role for the generic engine (`x-operation`)."""

    operation_id: str
    method: str
    path: str
    role: str
    resource: Resource
    admin: bool
    target: str | None
    lookup: Lookup | None
    set: Mapping[str, Value]
    collect: Collect | None
    response: Value | None
    success_status: int
    success_schema: JSONObject | None
    filters: tuple[Filter, ...]
    paging: Paging | None
    parameters: tuple[JSONObject, ...]
    request_media_types: tuple[str, ...]
    request_schema: JSONObject | None
    magic: tuple[Magic, ...]
    raw: Mapping[str, Any]

    @property
    def path_param(self) -> str | None:
        """The path parameter that names the record (the last one), if any."""
        names = [p["name"] for p in self.parameters if p.get("in") == "path"]
        return names[-1] if names else None

    @property
    def target_field(self) -> str | None:
        """For `target: body.status`, the body field that names the target state."""
        if self.target and self.target.startswith("body."):
            return self.target[5:]
        return None

    def transitions(self) -> tuple[Transition, ...]:
        lifecycle = self.resource.lifecycle
        if lifecycle is None:
            return ()
        return tuple(t for t in lifecycle.transitions if t.operation == self.operation_id)


@dataclass(frozen=True)
class ErrorFormat:
    """The vendor's error envelope (`x-errors`)."""

    media_type: str
    body: Value
    codes: Mapping[str, str]

    def code(self, kind: str) -> str:
        return self.codes.get(kind, kind)


@dataclass(frozen=True)
class TokenAlias:
    """An extra bearer token from `x-sandbox.tokens`."""

    sandbox: str
    admin: bool = False


@dataclass(frozen=True)
class Fixture:
    """A record the `docs` sandbox holds at start and after a reset."""

    resource: str
    record: JSONObject
    partition: Mapping[str, str]


@dataclass(frozen=True)
class ApiSpec:
    """One vendor API: the OpenAPI document and its compiled extensions."""

    name: str
    title: str
    document: JSONObject  # the OpenAPI 3.0 document as loaded (local refs unresolved)
    base_path: str
    resources: Mapping[str, Resource]
    operations: Mapping[str, Operation]
    errors: ErrorFormat
    tokens: Mapping[str, TokenAlias] = field(default_factory=dict)
    fixtures: tuple[Fixture, ...] = ()
    magic: tuple[Magic, ...] = ()
    webhooks: Webhooks | None = None
    stateful: bool = True  # False: a plain document, served from its examples and schemas
    source_version: str = "3.0"  # the OpenAPI version the file was written in (2.0, 3.0, 3.1)
    notes: tuple[str, ...] = ()  # what the start banner should tell about this API

    def operations_of(self, resource: str, role: str | None = None) -> list[Operation]:
        return [
            op
            for op in self.operations.values()
            if op.resource.name == resource and (role is None or op.role == role)
        ]
