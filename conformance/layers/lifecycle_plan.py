"""What the lifecycle layer plans for a resource, and what its scenarios share."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.http import TranscriptClient
from conformance.layers.lifecycle_inputs import free_marker, property_schema
from conformance.settings import Settings
from conformance.tally import Tally
from conformance.target import Target
from kycspec.model import ApiSpec, Filter, Operation, Resource

MAX_TRANSPORT_ERRORS = 3
UNREACHABLE = "the server stopped answering (connections refused or reset)"
BUDGET_SPENT = "the run's time budget was spent first"
ROLES = ("read", "update", "delete")


class Violation(Exception):
    """A requirement broken by the server; ends the scenario. `also`: other requirements the
    same answer breaks (an answer cut off at a limit fails every one that needed it)."""

    def __init__(self, check: str, message: str, also: tuple[str, ...] = ()):
        super().__init__(message)
        self.check = check
        self.message = message
        self.also = also


@dataclass(frozen=True)
class Plan:
    """What the spec declares for one resource, as the state machine uses it."""

    resource: Resource
    create: Operation
    read: Operation | None
    lists: tuple[Operation, ...]
    update: Operation | None
    transitions: tuple[Operation, ...]
    delete: Operation | None
    # a create input that a list filter selects on, free text: one marker value per scenario
    scope: str | None

    def scope_filter(self, op: Operation) -> Filter | None:
        return next((f for f in op.filters if f.field == self.scope and f.op == "eq"), None)


def build_plan(spec: ApiSpec, resource: Resource, target: Target) -> Plan | None:
    """The plan for a resource, or None when it has no create operation."""
    name = resource.name
    creates = spec.operations_of(name, "create")
    if not creates:
        return None
    create = creates[0]
    lists = tuple(spec.operations_of(name, "list"))
    inputs = {
        *(create.request_schema or {}).get("properties", {}),
        *(p["name"] for p in create.parameters if p.get("in") == "path"),
    }
    scope = next(
        (
            f.field
            for op in lists
            for f in op.filters
            if f.op == "eq"
            and f.field in inputs
            and f.field != resource.status_field
            and free_marker(property_schema(create, f.field)) is not None
        ),
        None,
    )
    first = {role: next(iter(spec.operations_of(name, role)), None) for role in ROLES}
    transitions = tuple(
        op for op in spec.operations_of(name, "transition") if target.admin_token or not op.admin
    )
    return Plan(
        resource, create, first["read"], lists, first["update"], transitions, first["delete"], scope
    )


@dataclass
class Run:
    """Everything shared by the scenarios of one resource."""

    target: Target
    settings: Settings
    client: TranscriptClient
    tallies: dict[str, Tally]
    progress: Callable[[], None] = lambda: None
    scenario: int = 0
    scenarios: dict[str, set[int]] = field(default_factory=dict)
    stopped: str | None = None
    transport_errors: int = 0
    # `$auth` values learnt from records: (key, owner) -> value; the owner is the API key for a
    # per-key value (`$auth.actor`), the account for the others (`lifecycle_scenario.owner`).
    auth: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Values learnt only from the write under check (an admin override's `set`), not yet shown
    # by a create made with the same key: (key, owner) -> (check, what), see `resolve_auth`.
    unconfirmed: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # The conditional `default` rules (by position) a create has met and had judged.
    started: set[int] = field(default_factory=set)
