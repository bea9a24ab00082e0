"""The requirement templates: the fixed, numbered tables every catalogue is built from.

A template's number is part of its requirement's ID and never changes meaning; `applies` leaves
a requirement out of an API's catalogue when the API has nothing for it to check.
"""

from collections.abc import Callable
from dataclasses import dataclass

from kycspec.model import ApiSpec, Resource


@dataclass(frozen=True)
class Template:
    """One numbered requirement, before it is made concrete for an API (and a resource).

    A lifecycle statement may name the resource's own timestamp fields as `{created}` and
    `{updated}`.
    """

    number: int
    level: str
    check: str
    statement: str
    source: str
    applies: Callable[[ApiSpec, Resource | None], bool] = lambda spec, resource: True


def _has_role(role: str) -> Callable[[ApiSpec, Resource | None], bool]:
    return lambda spec, res: res is not None and bool(spec.operations_of(res.name, role))


def _has_admin(spec: ApiSpec, resource: Resource | None) -> bool:
    return any(op.admin for op in spec.operations.values())


def _has_lifecycle(spec: ApiSpec, resource: Resource | None) -> bool:
    return resource is not None and resource.lifecycle is not None


def _has_terminal(spec: ApiSpec, resource: Resource | None) -> bool:
    return bool(resource and resource.lifecycle and resource.lifecycle.terminal)


def _has_clock(spec: ApiSpec, resource: Resource | None) -> bool:
    return bool(resource and resource.lifecycle and resource.lifecycle.clock_transitions)


def _has_guards(spec: ApiSpec, resource: Resource | None) -> bool:
    lifecycle = resource.lifecycle if resource else None
    return bool(lifecycle and any(t.guards for t in lifecycle.transitions))


def _has_magic(spec: ApiSpec, resource: Resource | None) -> bool:
    return bool(resource and any(op.magic for op in spec.operations_of(resource.name)))


def _has_filters(spec: ApiSpec, resource: Resource | None) -> bool:
    return bool(resource and any(op.filters for op in spec.operations_of(resource.name, "list")))


def _has_paging(spec: ApiSpec, resource: Resource | None) -> bool:
    return bool(resource and any(op.paging for op in spec.operations_of(resource.name, "list")))


def _has_partition(spec: ApiSpec, resource: Resource | None) -> bool:
    return any(res.partition for res in spec.resources.values())


def _has_required_headers(spec: ApiSpec, resource: Resource | None) -> bool:
    return any(
        p.get("in") == "header" and p.get("required")
        for op in spec.operations.values()
        for p in op.parameters
    )


OPENAPI = "OpenAPI 3.0.3 (the spec's declared responses)"

SCHEMA = (
    Template(
        1,
        "MUST",
        "status_code_conformance",
        "Every response status code is one the spec declares for the operation.",
        OPENAPI,
    ),
    Template(
        2,
        "MUST",
        "content_type_conformance",
        "Every response carries a content type the spec declares for its status.",
        OPENAPI,
    ),
    Template(
        3,
        "MUST",
        "response_schema_conformance",
        "Every response body validates against the schema the spec declares.",
        OPENAPI,
    ),
    Template(
        4,
        "SHOULD",
        "response_headers_conformance",
        "Responses carry the headers the spec declares as required.",
        OPENAPI,
    ),
    Template(
        5,
        "MUST",
        "negative_data_rejection",
        "Requests that break the spec (types, enums, required fields, unknown parameters) "
        "are refused with a 4xx.",
        OPENAPI,
    ),
    Template(
        6,
        "MUST",
        "positive_data_acceptance",
        "Requests that follow the spec are accepted (2xx, or a declared 4xx for state).",
        OPENAPI,
    ),
    Template(
        7,
        "MUST",
        "not_a_server_error",
        "No request, valid or not, gets a 5xx response.",
        "HTTP semantics (RFC 9110)",
    ),
    Template(
        8,
        "MUST",
        "use_after_free",
        "A deleted resource is not returned by later requests.",
        OPENAPI,
        lambda spec, res: any(op.role == "delete" for op in spec.operations.values()),
    ),
    Template(
        9,
        "MUST",
        "ensure_resource_availability",
        "A created resource can be read right away.",
        OPENAPI,
    ),
)

LIFECYCLE = (
    Template(
        1,
        "MUST",
        "read_after_write",
        "A record reads back with the fields it was created or updated with.",
        "create then retrieve",
        _has_role("read"),
    ),
    Template(
        2,
        "MUST",
        "server_fields_format",
        "Server-set ids and timestamps have the spec's formats.",
        "x-resources id and timestamps",
    ),
    Template(
        3,
        "MUST",
        "timestamps_consistent",
        "{created} never changes; {updated} never goes back and moves on change.",
        "x-resources timestamps",
    ),
    Template(
        4,
        "MUST",
        "allowed_transitions_accepted",
        "Every transition the lifecycle declares is accepted.",
        "x-resources lifecycle",
        _has_lifecycle,
    ),
    Template(
        5,
        "MUST",
        "forbidden_transitions_refused",
        "A transition the lifecycle does not declare is refused with 409 and the record "
        "is unchanged.",
        "x-resources lifecycle",
        _has_lifecycle,
    ),
    Template(
        6,
        "MUST",
        "terminal_states_final",
        "A record in a terminal state never changes state again.",
        "x-resources lifecycle terminal",
        _has_terminal,
    ),
    Template(
        7,
        "MUST",
        "list_filters_exact",
        "A filtered list returns exactly the matching records.",
        "list query parameters",
        _has_filters,
    ),
    Template(
        8,
        "MUST",
        "pagination_complete",
        "Walking the pages returns every record once: no gaps, no repeats.",
        "paginated list",
        _has_paging,
    ),
    Template(
        9,
        "MUST",
        "limit_honoured",
        "A page never holds more records than `limit`, and the default page size is the "
        "spec's default.",
        "limit parameter",
        _has_paging,
    ),
    Template(
        10,
        "MUST",
        "deleted_records_gone",
        "A deleted record is gone from reads and lists.",
        "delete",
        _has_role("delete"),
    ),
    Template(
        11,
        "MUST",
        "clock_expiry",
        "When the clock passes the declared timestamp, the record moves to the declared state.",
        "x-resources lifecycle clock transitions",
        _has_clock,
    ),
    Template(
        12,
        "MUST",
        "guards_enforced",
        "A guarded transition is refused when its guard does not hold, and accepted when it does.",
        "x-resources lifecycle guards",
        _has_guards,
    ),
    Template(
        13,
        "SHOULD",
        "sandbox_magic_values",
        "The spec's sandbox magic values lead to their declared outcomes.",
        "x-sandbox magic",
        _has_magic,
    ),
)

SECURITY = (
    Template(
        1,
        "MUST",
        "missing_token_refused",
        "Every operation refuses a request without a token with 401.",
        "securitySchemes",
    ),
    Template(
        2,
        "MUST",
        "invalid_token_refused",
        "Every operation refuses an invalid token with 401.",
        "securitySchemes",
    ),
    Template(
        3,
        "MUST",
        "accounts_isolated",
        "A second account's token can neither see nor change the first account's records.",
        "sandbox isolation (each API key its own data)",
    ),
    Template(
        4,
        "MUST",
        "admin_only_enforced",
        "Admin operations refuse a non-admin token with 403.",
        "operations marked admin",
        _has_admin,
    ),
    Template(
        5,
        "MUST",
        "required_headers_enforced",
        "A request missing a required header is refused with 400.",
        "required header parameters",
        _has_required_headers,
    ),
    Template(
        6,
        "MUST",
        "partitions_isolated",
        "Records in one partition (tenant) are invisible from another.",
        "x-resources partition",
        _has_partition,
    ),
)


# The operations whose documented sections a lifecycle requirement comes from, by role.
SOURCE_ROLES = {
    "read_after_write": ("create", "read", "update"),
    "server_fields_format": ("create",),
    "timestamps_consistent": ("create", "update", "transition"),
    "allowed_transitions_accepted": ("update", "transition"),
    "forbidden_transitions_refused": ("update", "transition"),
    "terminal_states_final": ("update", "transition"),
    "list_filters_exact": ("list",),
    "pagination_complete": ("list",),
    "limit_honoured": ("list",),
    "deleted_records_gone": ("delete",),
    "clock_expiry": (),
    "guards_enforced": ("transition",),
    "sandbox_magic_values": ("create", "transition"),
}
LIFECYCLE_CHECKS = {
    "allowed_transitions_accepted",
    "forbidden_transitions_refused",
    "terminal_states_final",
    "clock_expiry",
    "guards_enforced",
}
