"""The `lifecycle` of a resource: states, transitions, guards, and what entering a state sets."""

import dataclasses
import functools
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kycspec.expressions import Condition, Context, Value, compile_condition, compile_value
from kycspec.problems import NodeError, placed


@dataclass(frozen=True)
class Guard:
    """Refuses an allowed transition when `when` holds and `require` does not."""

    description: str
    when: Condition
    require: Condition
    status: int
    code: str | None  # None: the spec's x-errors code for guard_failed
    message: str
    raw: Mapping[str, Any]

    def refuses(self, ctx: Context) -> bool:
        return self.when(ctx) and not self.require(ctx)


@dataclass(frozen=True)
class Transition:
    """One allowed move, driven by an operation, by the clock passing a timestamp field, or by
    the record's parent entering a state (`via: {parent: redacted}`, see `Parent`)."""

    sources: tuple[str, ...]
    target: str
    operation: str | None
    clock: str | None
    guards: tuple[Guard, ...] = ()
    parent: str | None = None


START_RULE_KEYS = ("when", "state", "x-decision")
START_RULES = (
    "default: a state, or a list of rules {when: <condition>, state: <state>}, first match "
    "wins, the last one without `when` (the state of a create no rule matches)"
)


@dataclass(frozen=True)
class StartRule:
    """A create that names no state starts in `state` when `when` holds (Onfido's check starts
    `awaiting_applicant` when `applicant_provides_data` is true)."""

    when: Condition
    state: str
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Lifecycle:
    """The state machine of one status field."""

    field: str
    states: tuple[str, ...]
    initial: tuple[str, ...]
    default: str | None
    terminal: tuple[str, ...]
    transitions: tuple[Transition, ...]
    # `read-only`: states in which the record refuses every write (update, delete, its
    # children's writes, and any transition not declared out of the state), as Onfido's and
    # Persona's redacted records do, and Stripe's VerificationSession once it left
    # `requires_input` (only cancel and redact, declared, still move it)
    read_only: tuple[str, ...] = ()
    # `dataclasses.field` in full: the `field` attribute above shadows the name in this body
    on_enter: Mapping[str, Value] = dataclasses.field(default_factory=dict)
    raw_on_enter: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # `default` as rules: the conditional ones, in order; `default` is then the last rule's state
    starts: tuple[StartRule, ...] = ()
    # the status of a move or write the lifecycle refuses, in the `invalid_transition` kind:
    # the API's `x-errors.statuses` (Stripe answers 400), else 409
    refused_status: int = 409

    def start_rule(self, ctx: Context) -> StartRule | None:
        """The first conditional `default` rule whose condition holds for a create, if any."""
        return next((rule for rule in self.starts if rule.when(ctx)), None)

    def start_state(self, ctx: Context) -> str | None:
        """The state a create that names none starts in: the first matching rule's, else the
        `default`."""
        rule = self.start_rule(ctx)
        return rule.state if rule is not None else self.default

    def find(self, source: str, target: str, operation: str) -> Transition | None:
        """The declared transition for this move by this operation, if any."""
        for transition in self.transitions:
            if (
                transition.operation == operation
                and transition.target == target
                and source in transition.sources
            ):
                return transition
        return None

    def targets_of(self, operation: str) -> tuple[str, ...]:
        """The states the operation can lead to."""
        return tuple(dict.fromkeys(t.target for t in self.transitions if t.operation == operation))

    def sources_of(self, operation: str) -> tuple[str, ...]:
        """The states the operation can leave from."""
        found = (s for t in self.transitions if t.operation == operation for s in t.sources)
        return tuple(dict.fromkeys(found))

    def refuses(self, state: Any, move: tuple[str, str] | None = None) -> bool:
        """Whether a record in `state` refuses a write: it is read-only, and the write is not
        a move (operation, target) the lifecycle declares out of it."""
        if state not in self.read_only:
            return False
        return move is None or self.find(str(state), move[1], move[0]) is None

    def moves_by(self, operations: Collection[str]) -> Iterator[tuple[int, Transition]]:
        """The transitions (with their index) out of a read-only state that one of these
        operations drives: updates, which a read-only state refuses, so they never happen."""
        for index, transition in enumerate(self.transitions):
            if transition.operation in operations and set(transition.sources) & set(self.read_only):
                yield index, transition

    @functools.cached_property
    def clock_transitions(self) -> tuple[Transition, ...]:
        """The transitions the clock makes (read on every write and request: kept once read)."""
        return tuple(t for t in self.transitions if t.clock)

    def problems(self, status_enum: list[str] | None) -> list[str]:
        """Inconsistencies in the declaration; an empty list means it is sound."""
        found: list[str] = []
        known = set(self.states)
        if status_enum is not None and set(status_enum) != known:
            found.append(
                f"states {sorted(known)} differ from the status enum {sorted(status_enum)}"
            )
        starts = [rule.state for rule in self.starts]
        named = [*self.initial, *self.terminal, *([self.default] if self.default else [])]
        named += starts
        named += list(self.read_only)
        named += [s for t in self.transitions for s in (*t.sources, t.target)]
        named += list(self.on_enter)
        found += [f"unknown state {s!r}" for s in dict.fromkeys(named) if s not in known]
        for state in dict.fromkeys([*starts, *([self.default] if self.default else [])]):
            if state in known and state not in self.initial:
                found.append(f"default state {state!r} is not initial")
        for transition in self.transitions:
            leaving = set(transition.sources) & set(self.terminal)
            if leaving:
                found.append(f"terminal state(s) {sorted(leaving)} have an outgoing transition")
            drivers = (transition.operation, transition.clock, transition.parent)
            if sum(driver is not None for driver in drivers) != 1:
                found.append(
                    f"transition to {transition.target!r} needs one of operation, clock, parent"
                )
        reachable = set(self.initial)
        frontier = list(self.initial)
        while frontier:
            state = frontier.pop()
            for transition in self.transitions:
                if state in transition.sources and transition.target not in reachable:
                    reachable.add(transition.target)
                    frontier.append(transition.target)
        found += [f"state {s!r} is unreachable" for s in self.states if s not in reachable]
        return found


def build_lifecycle(raw: Mapping[str, Any], refused_status: int = 409) -> Lifecycle:
    """Compile a `lifecycle` declaration; `refused_status` is the API's status for the moves
    and writes it refuses (`x-errors.statuses.invalid_transition`)."""
    transitions = []
    for index, item in enumerate(raw.get("transitions", [])):
        via = item.get("via", {})
        at = ("transitions", index, "guards")
        guards = tuple(
            Guard(
                description=g.get("description", ""),
                when=placed(compile_condition, g.get("when", {}), *at, number, "when"),
                require=placed(compile_condition, g["require"], *at, number, "require"),
                status=int(g.get("status", 422)),
                code=g.get("code"),
                message=g.get("message", g.get("description", "refused")),
                raw=g,
            )
            for number, g in enumerate(item.get("guards", []))
        )
        transitions.append(
            Transition(
                sources=tuple(item["from"]),
                target=item["to"],
                operation=via.get("operation"),
                clock=via.get("clock"),
                guards=guards,
                parent=via.get("parent"),
            )
        )
    on_enter = raw.get("on-enter", {})
    default, starts = _default(raw.get("default"))
    named = [rule.state for rule in starts] + ([default] if default else [])
    return Lifecycle(
        field=raw["field"],
        states=tuple(raw["states"]),
        initial=tuple(raw.get("initial", dict.fromkeys(named) if starts else raw["states"][:1])),
        default=default,
        starts=starts,
        terminal=tuple(raw.get("terminal", [])),
        transitions=tuple(transitions),
        read_only=tuple(raw.get("read-only", [])),
        on_enter={
            state: placed(compile_value, values, "on-enter", state)
            for state, values in on_enter.items()
        },
        raw_on_enter=on_enter,
        refused_status=refused_status,
    )


def _default(raw: Any) -> tuple[str | None, tuple[StartRule, ...]]:
    """`default` as the fallback state and the conditional rules before it.

    Raises `NodeError` (`START_RULES`) for rules that are not a list of `{when, state}`
    mappings ending in one without `when`, or a `when` before the end that is missing.
    """
    if raw is None or isinstance(raw, str):
        return raw, ()
    rules = raw if isinstance(raw, list) else []
    shapes = [
        isinstance(rule, Mapping)
        and set(rule) <= set(START_RULE_KEYS)
        and isinstance(rule.get("state"), str)
        for rule in rules
    ]
    conditional = ["when" in rule for rule in rules] if all(shapes) else []
    if not rules or not all(shapes) or conditional != [True] * (len(rules) - 1) + [False]:
        raise NodeError(f"{START_RULES}; got {raw!r}", ("default",))
    starts = tuple(
        StartRule(placed(compile_condition, r["when"], "default", index, "when"), r["state"], r)
        for index, r in enumerate(rules[:-1])
    )
    return rules[-1]["state"], starts
