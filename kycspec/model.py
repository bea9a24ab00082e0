"""The spec model: what the `x-` extensions of one API declare, compiled for use."""

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kycspec.credentials import Credential
from kycspec.expressions import Condition, Value
from kycspec.headers import ResponseHeader
from kycspec.lifecycle import Lifecycle, Transition
from kycspec.media import FileBody
from kycspec.paging import Paging
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
    "idempotency_key_reused",
    "payload_too_large",
    "request_timeout",
    "unsupported_media_type",
    "not_acceptable",
    "internal_error",
)
# The error kinds whose HTTP status is the vendor's choice (`x-errors.statuses`), with the
# status each has when the spec does not choose: a move the lifecycle refuses is a conflict
# with the record's state (409, RFC 9110 section 15.5.10), an idempotency key sent again with
# another request is a 400 as Stripe answers it (https://docs.stripe.com/api/idempotent_requests;
# the IETF Idempotency-Key draft, section 2.7, suggests 422).
CHOSEN_STATUSES: Mapping[str, int] = {"invalid_transition": 409, "idempotency_key_reused": 400}


@dataclass(frozen=True)
class Parent:
    """The resource a child lives under (`parent`): Onfido's checks under an applicant.

    The child's records are kept apart per parent (the parent's id is the last part of the
    child's partition), the parent must exist for every child request, child writes need the
    parent in one of `writable_in` (any state when empty), and when the parent enters a state
    named in `on_enter`, every child gets those values.
    """

    resource: str
    param: str  # the path parameter that names the parent
    writable_in: tuple[str, ...]
    on_enter: Mapping[str, Value]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Feed:
    """`records`: this resource is a feed of the state changes of other resources.

    Each time a record of a resource in `of` enters a lifecycle state (on create, through an
    operation, when the clock or a parent moves it), a feed record is stored with the values
    of `set`, which see `$record` (the record that moved) and `$event.type`
    (`<resource>.<state>`), `$event.resource`, `$event.state` and `$event.via`.
    """

    of: tuple[str, ...]
    set: Mapping[str, Value]


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
    parent: Parent | None = None
    feed: Feed | None = None

    @property
    def status_field(self) -> str | None:
        return self.lifecycle.field if self.lifecycle else None

    def parent_field(self, path: Mapping[str, Any]) -> JSONObject:
        """The parent's id a child stores from the create's `path` values, when the child's
        schema has a field named for the parent's path parameter (read-only or not)."""
        parent = self.parent
        if parent is None or parent.param not in self.schema.get("properties", {}):
            return {}
        return {parent.param: path.get(parent.param)}


FILTER_OPS = ("eq", "gt", "gte", "lt", "lte")  # `x-filter.op`: record field <op> parameter


@dataclass(frozen=True)
class Filter:
    """A list filter from a query parameter's `x-filter`."""

    param: str
    field: str
    op: str = "eq"


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
    # The credentials the caller may present, any one of them (OpenAPI `security`); `public`
    # when a request without one is allowed too (`security: []`, or an empty requirement).
    credentials: tuple[Credential, ...] = ()
    public: bool = False
    update: str = "merge"  # a name in kycspec.updates.UPDATE_SEMANTICS
    body_required: bool = False  # OpenAPI `requestBody.required`
    # the declared headers of each response, by status (kycspec.headers)
    headers: Mapping[int, tuple[ResponseHeader, ...]] = field(default_factory=dict)
    # the success response's file media types (kycspec.media), in declared order
    files: tuple[FileBody, ...] = ()
    success_media_types: tuple[str, ...] = ()  # of the success response, in declared order
    # each request media type's Encoding Object map (OpenAPI 3.0.3 §4.7.14), by media type
    request_encodings: Mapping[str, JSONObject] = field(default_factory=dict)

    @functools.cached_property
    def path_param(self) -> str | None:
        """The path parameter that names the record (the last one, not the parent's), if any;
        read on every request, so kept once read."""
        parent = self.resource.parent.param if self.resource.parent else None
        names = [
            p["name"] for p in self.parameters if p.get("in") == "path" and p["name"] != parent
        ]
        return names[-1] if names else None

    @property
    def answers_file(self) -> bool:
        """Whether a request with no `Accept` gets a file: the success response's first media
        type is one (`kycspec.media`)."""
        offered = self.success_media_types[:1]
        return bool(self.files) and offered == (self.files[0].media_type,)

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
    """The vendor's error envelope (`x-errors`): a body template (`bodies` holds one of its
    own for some kinds: Stripe's `idempotency_error` type), the code of each kind, and the
    status of the kinds whose status the vendor chooses (`CHOSEN_STATUSES`)."""

    media_type: str
    body: Value
    codes: Mapping[str, str]
    statuses: Mapping[str, int] = field(default_factory=dict)
    bodies: Mapping[str, Value] = field(default_factory=dict)

    def code(self, kind: str) -> str:
        return self.codes.get(kind, kind)

    def status(self, kind: str) -> int:
        """The status of a kind in `CHOSEN_STATUSES`: the spec's, else the default."""
        return self.statuses.get(kind, CHOSEN_STATUSES[kind])

    def body_of(self, kind: str) -> Value:
        """The body template of an error of this kind."""
        return self.bodies.get(kind, self.body)


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
    credentials: Mapping[str, Credential] = field(default_factory=dict)
    # `x-idempotency.header`: writes that carry it are answered once per key (Stripe-style)
    idempotency_header: str | None = None

    def children_of(self, resource: str) -> list[Resource]:
        """The resources declared with `parent: {resource: <resource>}`."""
        return [r for r in self.resources.values() if r.parent and r.parent.resource == resource]

    def operations_of(self, resource: str, role: str | None = None) -> list[Operation]:
        """The resource's operations (of one role), those answering the record as JSON first
        (a download answers a file: `Operation.answers_file`)."""
        found = [
            op
            for op in self.operations.values()
            if op.resource.name == resource and (role is None or op.role == role)
        ]
        return sorted(found, key=lambda op: op.answers_file)
