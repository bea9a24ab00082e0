"""The checks: one registered object per property the suite asserts.

A check owns what decides its requirement, besides the failures: the case that discriminates it
(`exercised_by`) and, for a requirement about every operation, resource or guard outcome, the
unit each of which must be covered (`every`). A requirement whose discriminating case never
happened is SKIPPED "not exercised", never PASSED (`conformance.tally`).

`CHECKS` is the registry; a requirement template names its check by the registered name, and a
layer reporting to a name that is not registered raises at once (a typo cannot drop a verdict).

To add a check:

- register it here with `_check(name, layer, exercised_by, every=...)`;
- add its requirement template in `conformance.requirement_templates`;
- in its layer, `Tally.expect(unit)` every unit it must cover (when `every` is set) and call
  `Tally.ran(unit=...)` only where the discriminating case actually happened.
"""

from dataclasses import dataclass

from kycspec.registry import Registry


@dataclass(frozen=True)
class Check:
    """One property the suite asserts, and what has to happen for a verdict on it."""

    name: str
    layer: str
    exercised_by: str  # the discriminating case, in words ("a request without a token")
    every: str | None = None  # the unit each of which must be covered ("operation"), if any


CHECKS: Registry[Check] = Registry("check")
UNKNOWN_CHECK = "a verdict for {name!r}, which is no registered check; known: {known}"


class VerdictLost(RuntimeError):
    """A layer reported to a check that is not registered, or a failure no requirement holds.

    A bug in the suite, never the server's: the layer stops and its requirements are ERROR.
    """


def registered(name: str) -> Check:
    """The registered check `name`; `VerdictLost` for any other name."""
    if name not in CHECKS.names():
        raise VerdictLost(UNKNOWN_CHECK.format(name=name, known=", ".join(CHECKS.names())))
    return CHECKS.get(name)


def _check(name: str, layer: str, exercised_by: str, every: str | None = None) -> Check:
    return CHECKS.register(name, Check(name, layer, exercised_by, every))


# -- schema layer -------------------------------------------------------------------------
_check("status_code_conformance", "schema", "a response to the operation", "operation")
_check("content_type_conformance", "schema", "a response to the operation", "operation")
_check("response_schema_conformance", "schema", "a response to the operation", "operation")
_check("response_headers_conformance", "schema", "a response to the operation", "operation")
_check(
    "negative_data_rejection",
    "schema",
    "a request breaking the spec, sent as generated, to the operation",
    "operation",
)
_check(
    "positive_data_acceptance",
    "schema",
    "a valid request answered (a create: accepted with a 2xx)",
    "operation",
)
_check("not_a_server_error", "schema", "a response to the operation", "operation")
_check("use_after_free", "schema", "a record deleted, then read again", "resource")
_check("ensure_resource_availability", "schema", "a record created, then read", "resource")
_check("idempotent_retries", "schema", "a create retried with the same idempotency key")
_check("feed_records_changes", "schema", "a record created, then looked for in its feed")
# -- security layer -----------------------------------------------------------------------
_check("missing_token_refused", "security", "a request without a token", "operation")
_check("invalid_token_refused", "security", "a request with an invalid token", "operation")
_check("accounts_isolated", "security", "a second account's requests on a record", "resource")
_check("admin_only_enforced", "security", "a non-admin token on the admin operation", "operation")
_check("required_headers_enforced", "security", "a request missing the required header", "header")
_check("partitions_isolated", "security", "another partition's requests on a record", "resource")
# -- lifecycle layer (per resource) -------------------------------------------------------
_check("read_after_write", "lifecycle", "a written record read back")
_check("server_fields_format", "lifecycle", "a record the server returned")
_check("timestamps_consistent", "lifecycle", "a record seen again after it was first seen")
_check("allowed_transitions_accepted", "lifecycle", "a declared transition sent")
_check("forbidden_transitions_refused", "lifecycle", "an undeclared transition sent")
_check("terminal_states_final", "lifecycle", "a state change asked of a record in a final state")
_check(
    "read_only_states_refuse_writes", "lifecycle", "a write asked of a record in a read-only state"
)
_check(
    "list_filters_exact",
    "lifecycle",
    "a filtered list whose filter keeps some known records and drops others",
    "filter",
)
_check("pagination_complete", "lifecycle", "a list that took more than one page")
_check(
    "limit_honoured",
    "lifecycle",
    "a list with more matching records than its page size",
)
_check("deleted_records_gone", "lifecycle", "a deleted record read or listed")
_check("clock_expiry", "lifecycle", "a record read after the clock passed its moment")
_check(
    "guards_enforced",
    "lifecycle",
    "a guarded transition refused by its guard, and one let through",
    "outcome",
)
_check("sandbox_magic_values", "lifecycle", "a magic value sent")
_check(
    "initial_state_by_input",
    "lifecycle",
    "a create whose input meets a conditional `default` rule of the lifecycle",
)
_check(
    "parent_required",
    "lifecycle",
    "a request under a parent that does not exist or another account owns",
    "operation",
)
_check(
    "parent_state_gates_writes",
    "lifecycle",
    "a write asked while the parent is in a state that refuses child writes",
    "operation",
)
# -- robustness layer ---------------------------------------------------------------------
_check("responses_bounded", "robustness", "a request answered within the limits")
for _name in (
    "edge_media_types",
    "edge_timestamps",
    "edge_json",
    "repeated_parameters",
    "content_codings",
    "non_utf8_bodies",
    "header_fields",
):
    _check(_name, "robustness", "an edge-case request answered")
_check("valid_variants_accepted", "robustness", "an RFC-allowed variant of an accepted request")
# -- webhooks layer -----------------------------------------------------------------------
_check("webhook_event_emitted", "webhooks", "a declared change made", "declared change")
_check("webhook_payload_valid", "webhooks", "a delivery received")
_check("webhook_signature_valid", "webhooks", "a delivery received with a secret to check it")
_check("webhook_retried", "webhooks", "a delivery answered with a 5xx")
_check("webhook_order_per_record", "webhooks", "a record changed more than once")
