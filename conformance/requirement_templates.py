"""The requirement templates: the fixed, numbered tables every catalogue is built from.

A template's number is part of its requirement's ID and never changes meaning; `applies` leaves
a requirement out of an API's catalogue when the API has nothing for it to check.
"""

from collections.abc import Callable
from dataclasses import dataclass

from conformance.checks import CHECKS
from conformance.parent_states import reachable_closed_states
from kycspec.model import ApiSpec, Resource
from kycspec.references import declared_fields


@dataclass(frozen=True)
class Template:
    """One numbered requirement, before it is made concrete for an API (and a resource).

    A lifecycle statement may name the resource's own timestamp fields as `{created}` and
    `{updated}`, the rules the run checks of those its schema declares as `{timestamps}`
    (`timestamp_rules`), and the status of the lifecycle's refusals (`x-errors.statuses`) as
    `{refused}`; a child's, its parent resource as `{parent}`, the path parameter naming it as
    `{param}`, and the parent states that refuse child writes (and that the parent's operations
    reach) as `{closed}`, and the roles of its write operations as `{writes}`.
    """

    number: int
    level: str
    check: str
    statement: str
    source: str
    applies: Callable[[ApiSpec, Resource | None], bool] = lambda spec, resource: True

    def __post_init__(self) -> None:
        CHECKS.get(self.check)  # a template naming no registered check is refused at import


CREATED_RULE = "{created} never changes"
UPDATED_RULE = "{updated} never goes back and moves when the record changes"
SKEW = " ({both}within the run's --clock-skew)"


def _has_role(role: str) -> Callable[[ApiSpec, Resource | None], bool]:
    return lambda spec, res: res is not None and bool(spec.operations_of(res.name, role))


def _has_admin(spec: ApiSpec, resource: Resource | None) -> bool:
    return any(op.admin for op in spec.operations.values())


def timestamp_rules(spec: ApiSpec, resource: Resource) -> str:
    """What the run checks of the resource's timestamps, naming only the fields its record
    schema declares (`CREATED_RULE`, `UPDATED_RULE`); empty when it declares neither."""
    declared = declared_fields(spec.document, resource)
    rules = [
        rule.format(created=resource.created_field, updated=resource.updated_field)
        for field, rule in (
            (resource.created_field, CREATED_RULE),
            (resource.updated_field, UPDATED_RULE),
        )
        if field in declared
    ]
    if not rules:
        return ""
    return "; ".join(rules) + SKEW.format(both="both " if len(rules) > 1 else "")


def _has_timestamps(spec: ApiSpec, resource: Resource | None) -> bool:
    return resource is not None and bool(timestamp_rules(spec, resource))


def _has_moves(spec: ApiSpec, resource: Resource | None) -> bool:
    """Operations drive some transition: the suite can ask for moves (clock- and
    parent-driven ones are checked elsewhere, or not at all)."""
    lifecycle = resource.lifecycle if resource else None
    return bool(lifecycle and any(t.operation for t in lifecycle.transitions))


def _has_forbidden_moves(spec: ApiSpec, resource: Resource | None) -> bool:
    """Some operation could ask for a move the lifecycle does not declare, from a state that
    is not terminal (terminal states are `terminal_states_final`'s). An update that repeats
    the current status is no move; a transition operation always moves."""
    lifecycle = resource.lifecycle if resource else None
    if lifecycle is None:
        return False
    live = [s for s in lifecycle.states if s not in lifecycle.terminal]
    operations = {t.operation for t in lifecycle.transitions if t.operation}
    return any(
        lifecycle.find(source, target, name) is None
        and not (source == target and spec.operations[name].role == "update")
        for name in operations
        for target in lifecycle.targets_of(name)
        for source in live
    )


def _has_terminal(spec: ApiSpec, resource: Resource | None) -> bool:
    """A terminal state that is not read-only (those are `read_only_states_refuse_writes`')."""
    lifecycle = resource.lifecycle if resource else None
    open_ends = set(lifecycle.terminal) - set(lifecycle.read_only) if lifecycle else set()
    return bool(open_ends and _has_moves(spec, resource))


def _has_read_only(spec: ApiSpec, resource: Resource | None) -> bool:
    """Read-only states the suite can reach, and a write to ask of a record in one."""
    lifecycle = resource.lifecycle if resource else None
    if lifecycle is None or not lifecycle.read_only or not _has_moves(spec, resource):
        return False
    name = resource.name if resource else ""
    return any(spec.operations_of(name, role) for role in ("update", "transition", "delete"))


def _has_start_rules(spec: ApiSpec, resource: Resource | None) -> bool:
    """Conditional `default` rules, and a create to send input that meets them."""
    lifecycle = resource.lifecycle if resource else None
    return bool(lifecycle and lifecycle.starts and _has_role("create")(spec, resource))


def _has_clock(spec: ApiSpec, resource: Resource | None) -> bool:
    return bool(resource and resource.lifecycle and resource.lifecycle.clock_transitions)


def _has_guards(spec: ApiSpec, resource: Resource | None) -> bool:
    lifecycle = resource.lifecycle if resource else None
    return bool(lifecycle and any(t.guards for t in lifecycle.transitions))


def _has_magic(spec: ApiSpec, resource: Resource | None) -> bool:
    return bool(resource and any(op.magic for op in spec.operations_of(resource.name)))


def _has_parent(spec: ApiSpec, resource: Resource | None) -> bool:
    """A parent the suite can make (so a child can be asked for under another one)."""
    parent = resource.parent if resource else None
    return parent is not None and bool(spec.operations_of(parent.resource, "create"))


def _has_closed_parent(spec: ApiSpec, resource: Resource | None) -> bool:
    """A parent state that refuses child writes, which the parent's operations reach."""
    return bool(
        resource and _has_parent(spec, resource) and reachable_closed_states(spec, resource)
    )


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
        "Requests that break the spec (types, enums, formats, required fields) are refused "
        "with a 4xx (an undeclared query parameter may be ignored).",
        OPENAPI,
    ),
    Template(
        6,
        "MUST",
        "positive_data_acceptance",
        "Requests that follow the spec are accepted: a 2xx, or a refusal the record's state "
        "explains (404 gone, 409 lifecycle, a guard's status); every create is accepted.",
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
    Template(
        10,
        "MUST",
        "idempotent_retries",
        "A write retried with the same idempotency key and body gets the first answer and "
        "writes nothing; the same key with another body is refused with the status and "
        "envelope x-errors declares for idempotency_key_reused (400 by default).",
        "x-idempotency (Stripe idempotent requests)",
        lambda spec, res: spec.idempotency_header is not None,
    ),
    Template(
        11,
        "MUST",
        "feed_records_changes",
        "A record created in a resource a feed watches shows up in the feed's list.",
        "x-resources records (event feeds)",
        lambda spec, res: any(r.feed for r in spec.resources.values()),
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
        "{timestamps}.",
        "x-resources timestamps (specs/README.md)",
        _has_timestamps,
    ),
    Template(
        4,
        "MUST",
        "allowed_transitions_accepted",
        "Every transition the lifecycle declares is accepted.",
        "x-resources lifecycle",
        _has_moves,
    ),
    Template(
        5,
        "MUST",
        "forbidden_transitions_refused",
        "A transition the lifecycle does not declare is refused with {refused} and the record "
        "is unchanged.",
        "x-resources lifecycle (specs/README.md)",
        _has_forbidden_moves,
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
    Template(
        14,
        "MUST",
        "read_only_states_refuse_writes",
        "A record in a read-only state refuses every update and delete, and every transition "
        "its lifecycle does not declare out of the state, with {refused} and is unchanged.",
        "x-resources lifecycle read-only",
        _has_read_only,
    ),
    Template(
        15,
        "MUST",
        "initial_state_by_input",
        "A create that names no state starts in the state of the first `default` rule its "
        "input meets.",
        "x-resources lifecycle default rules",
        _has_start_rules,
    ),
    Template(
        16,
        "MUST",
        "parent_required",
        "Every request whose {param} names no {parent} of the caller (none exists, or another "
        "account owns it) is refused with 404 in the x-errors envelope.",
        "x-resources parent (specs/README.md)",
        _has_parent,
    ),
    Template(
        17,
        "MUST",
        "parent_state_gates_writes",
        "A write ({writes}) while its {parent} is in state {closed} is refused with {refused} "
        "in the x-errors envelope.",
        "x-resources parent writable-in, lifecycle read-only (specs/README.md)",
        _has_closed_parent,
    ),
)

SECURITY = (
    Template(
        1,
        "MUST",
        "missing_token_refused",
        "Every operation refuses a request without a token with 401.",
        "securitySchemes bearer (RFC 6750 section 3.1)",
    ),
    Template(
        2,
        "MUST",
        "invalid_token_refused",
        "Every operation refuses an invalid token with 401.",
        "securitySchemes bearer (RFC 6750 section 3.1)",
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
        "operations marked admin (specs/README.md x-operation admin)",
        _has_admin,
    ),
    Template(
        5,
        "MUST",
        "required_headers_enforced",
        "A request missing a required header is refused with a 4xx (400 where declared).",
        "required header parameters (OpenAPI `required: true`)",
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


def _has_body(spec: ApiSpec, resource: Resource | None) -> bool:
    return any(op.request_media_types for op in spec.operations.values())


def _has_json_body(spec: ApiSpec, resource: Resource | None) -> bool:
    return any("application/json" in op.request_media_types for op in spec.operations.values())


def _has_timestamp_input(spec: ApiSpec, resource: Resource | None) -> bool:
    return any(
        p.get("in") == "query" and p.get("schema", {}).get("format") == "date-time"
        for op in spec.operations.values()
        for p in op.parameters
    ) or any(
        s.get("format") == "date-time" and not s.get("readOnly")
        for op in spec.operations.values()
        for s in (op.request_schema or {}).get("properties", {}).values()
    )


def _has_repeatable(spec: ApiSpec, resource: Resource | None) -> bool:
    return any(
        p.get("in") == "query" for op in spec.operations.values() for p in op.parameters
    ) or any(
        "application/x-www-form-urlencoded" in op.request_media_types
        for op in spec.operations.values()
    )


def _has_text_body(spec: ApiSpec, resource: Resource | None) -> bool:
    return any(
        media in op.request_media_types
        for op in spec.operations.values()
        for media in ("application/json", "application/x-www-form-urlencoded")
    )


EDGE = (
    "gets a 4xx or a success status the spec declares, never a 5xx; a refused one changes nothing"
)
ROBUSTNESS = (
    Template(
        1,
        "MUST",
        "responses_bounded",
        "Every request gets a complete answer within --timeout seconds and --max-response-bytes "
        "bytes: no operation hangs, no body is endless, huge or trickling.",
        "HTTP/1.1 message framing (RFC 9112 §6); the limits in README (the conformance suite)",
    ),
    Template(
        2,
        "MUST",
        "edge_media_types",
        f"A body whose media type differs in case or in whitespace around `;` {EDGE}.",
        "RFC 9110 §8.3.1 (case-insensitive media types), §5.6.6 (parameters)",
        _has_body,
    ),
    Template(
        3,
        "MUST",
        "edge_timestamps",
        "A date-time with a lowercase `t`/`z`, an offset of ±23:59, nanoseconds or a UTC value "
        f"outside years 1-9999 {EDGE}.",
        "RFC 3339 §5.6 (date-time grammar, case-insensitive T and Z)",
        _has_timestamp_input,
    ),
    Template(
        4,
        "MUST",
        "edge_json",
        "A JSON body with a lone surrogate, nesting 100,000 deep, a 5,000-digit number, a number "
        f"beyond double range or a byte-order mark {EDGE}.",
        "RFC 8259 §6, §8.1, §8.2, §9 (numbers, BOM, surrogates, parser limits)",
        _has_json_body,
    ),
    Template(
        5,
        "MUST",
        "repeated_parameters",
        f"A scalar query parameter or form field sent twice {EDGE}.",
        "OpenAPI 3.0.3 (scalar parameters); WHATWG URL (application/x-www-form-urlencoded)",
        _has_repeatable,
    ),
    Template(
        6,
        "MUST",
        "content_codings",
        f"A gzip-encoded body, or one in an unknown content coding, {EDGE}.",
        "RFC 9110 §8.4 (Content-Encoding; 415 for an unsupported coding)",
        _has_body,
    ),
    Template(
        7,
        "MUST",
        "non_utf8_bodies",
        f"A JSON or form body that is not valid UTF-8 {EDGE}.",
        "RFC 8259 §8.1 (UTF-8); WHATWG URL (urlencoded bodies are UTF-8)",
        _has_text_body,
    ),
    Template(
        8,
        "MUST",
        "header_fields",
        f"A request with whitespace around header values or the auth scheme in lowercase {EDGE}.",
        "RFC 9110 §5.5 (field values exclude surrounding whitespace), §11.1 (auth schemes)",
    ),
    Template(
        9,
        "SHOULD",
        "valid_variants_accepted",
        "A request that differs from an accepted one only in ways the RFCs allow (media type "
        "case and whitespace, RFC 3339 letters and offsets, header whitespace, scheme case) "
        "gets the same status.",
        "RFC 9110 §5.5, §8.3.1, §11.1; RFC 3339 §5.6",
    ),
)


def _has_webhooks(spec: ApiSpec, resource: Resource | None) -> bool:
    return spec.webhooks is not None


def _has_event_sequences(spec: ApiSpec, resource: Resource | None) -> bool:
    return spec.webhooks is not None and any(
        not event.on_create for event in spec.webhooks.events.values()
    )


WEBHOOKS = (
    Template(
        1,
        "MUST",
        "webhook_event_emitted",
        "Every declared change (a create, a transition into a declared state, by an operation or "
        "the clock) emits its declared event once: one acknowledged delivery per event.",
        "x-webhooks events (specs/README.md); Stripe, 'Handle duplicate events'",
        _has_webhooks,
    ),
    Template(
        2,
        "MUST",
        "webhook_payload_valid",
        "Every delivery's payload validates against its event's schema (the request body of its "
        "OpenAPI callback).",
        "OpenAPI 3.0.3 §4.7.15 (Callback Object); x-webhooks events schema",
        _has_webhooks,
    ),
    Template(
        3,
        "MUST",
        "webhook_signature_valid",
        "Every delivery is signed in the declared header as t=<unix>,v1=<HMAC-SHA256 of "
        "'<t>.<body>'> with the sandbox's secret, and the signature fails for a changed body.",
        "x-webhooks signature; RFC 2104 (HMAC); Stripe, 'Verify webhook signatures'",
        _has_webhooks,
    ),
    Template(
        4,
        "MUST",
        "webhook_retried",
        "A delivery answered with a 5xx is tried again until a 2xx acknowledges it, and not after.",
        "x-webhooks delivery (README, Webhooks): at least once, with backoff",
        _has_webhooks,
    ),
    Template(
        5,
        "MUST",
        "webhook_order_per_record",
        "A record's events reach a subscriber in the order its changes happened.",
        "README, Webhooks (a record's events arrive in order)",
        _has_event_sequences,
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
    "read_only_states_refuse_writes": ("update", "transition", "delete"),
    "list_filters_exact": ("list",),
    "pagination_complete": ("list",),
    "limit_honoured": ("list",),
    "deleted_records_gone": ("delete",),
    "clock_expiry": (),
    "guards_enforced": ("transition",),
    "sandbox_magic_values": ("create", "transition"),
    "initial_state_by_input": ("create",),
    "parent_required": ("create", "read", "list", "update", "transition", "delete"),
    "parent_state_gates_writes": ("create", "update", "transition", "delete"),
}
LIFECYCLE_CHECKS = {
    "allowed_transitions_accepted",
    "forbidden_transitions_refused",
    "terminal_states_final",
    "read_only_states_refuse_writes",
    "initial_state_by_input",
    "clock_expiry",
    "guards_enforced",
}
