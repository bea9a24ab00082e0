"""The lifecycle layer's reference model: what a conforming server answers, in plain dicts.

The model reads the same `x-resources` declaration the server implements: defaults, derived
fields, on-enter values, operation `set` and `collect` values, sandbox magic, transitions and
guards. Values only the server can know (ids, `$now`, `$auth.*`) are `UNKNOWN` until the first
response shows them; from then on they are expected to stay put.
"""

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kycspec.expressions import Context, compile_value, parse_time
from kycspec.lifecycle import Guard
from kycspec.model import Operation, Resource
from kycspec.types import JSONObject
from kycspec.updates import UPDATE_SEMANTICS


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()
SERVER_ONLY = ("$now", "$id:")
AUTH = "$auth."
# Who sends a request, by the target's option name; the context value that says so.
USER, ADMIN = "token", "admin_token"
CALLER = "caller"
CREATING = "creating"  # the context value that says the write is a create


@dataclass(frozen=True)
class AuthValue:
    """A `$auth.<key>` value: the server's own for the credential that sent the write
    (`caller`, `USER` or `ADMIN`), unknown until a record shows it, then the same on every
    record that credential writes (specs/README.md: a stable UUID for the API key, and for its
    sandbox). `create`: a create wrote it, so it shows the key's own value."""

    key: str
    caller: str
    create: bool = False


@dataclass(frozen=True)
class OneOf:
    """A value the model cannot pin down (a clock transition right at its moment)."""

    values: tuple[Any, ...]


def predict(template: Any, ctx: Context) -> Any:
    """A value template (`x-` extension data) as the model can know it."""
    if isinstance(template, dict):
        return {key: predict(value, ctx) for key, value in template.items()}
    if isinstance(template, list):
        return [predict(item, ctx) for item in template]
    if isinstance(template, str) and template.startswith("$"):
        if template.startswith(AUTH):
            key, caller = template[len(AUTH) :], ctx.values.get(CALLER, USER)
            return AuthValue(key, caller, bool(ctx.values.get(CREATING)))
        if template.startswith(SERVER_ONLY):
            return UNKNOWN
        return compile_value(template)(ctx)
    return template


def context(resource: Resource, **values: Any) -> Context:
    return Context(now=datetime.now(UTC), time_format=resource.time_format, values=values)


def stored_fields(resource: Resource, values: Mapping[str, Any] | None) -> JSONObject:
    """The request values a server keeps as record fields (read-only ones excluded)."""
    properties = resource.schema.get("properties", {})
    return {
        key: value
        for key, value in (values or {}).items()
        if key in properties and not properties[key].get("readOnly")
    }


def _extension(op: Operation) -> Mapping[str, Any]:
    return dict(op.raw.get("x-operation", {}))


def _magic(op: Operation, ctx: Context, enabled: bool) -> JSONObject:
    found: JSONObject = {}
    for magic in op.magic if enabled else ():
        if magic.when(ctx):
            found.update(predict(magic.raw["set"], ctx))
    return found


def _enter(resource: Resource, record: JSONObject, state: str, ctx: Context) -> None:
    lifecycle = resource.lifecycle
    if lifecycle is None:
        return
    record[lifecycle.field] = state
    record.update(predict(lifecycle.raw_on_enter.get(state, {}), ctx))


def _finish(resource: Resource, record: JSONObject, ctx: Context) -> None:
    ctx.values["record"] = record
    record.update(predict(dict(resource.raw.get("derived", {})), ctx))
    record[resource.updated_field] = UNKNOWN


def expect_create(
    op: Operation, body: JSONObject, path: JSONObject, magic: bool, caller: str = USER
) -> tuple[JSONObject | None, JSONObject]:
    """The record a create makes (None when the server must refuse it), and the magic values;
    `caller` is the credential that sends it (`USER` or `ADMIN`)."""
    resource = op.resource
    record: JSONObject = {resource.id_field: UNKNOWN}
    ctx = context(resource, body=body, path=path, record=record, **{CALLER: caller, CREATING: True})
    record.update(predict(dict(resource.raw.get("defaults", {})), ctx))
    record.update(stored_fields(resource, path))
    record.update(stored_fields(resource, body))
    record.update(predict(dict(_extension(op).get("set", {})), ctx))
    record[resource.created_field] = UNKNOWN
    values = _magic(op, ctx, magic)
    shown = dict(values)
    lifecycle = resource.lifecycle
    if lifecycle is not None:
        state = values.pop(lifecycle.field, None) or record.get(lifecycle.field)
        state = state or lifecycle.start_state(ctx)
        if state not in lifecycle.initial:
            return None, shown
        _enter(resource, record, state, ctx)
    record.update(values)
    _finish(resource, record, ctx)
    return record, shown


READ_ONLY = "read_only_states_refuse_writes"


@dataclass
class Outcome:
    """What a write must do: succeed with `record`, or be refused (`refused` is a check name)."""

    record: JSONObject | None = None
    refused: str | None = None
    guard: Guard | None = None
    move: tuple[str, str] | None = None
    guarded: bool = False
    magic: JSONObject = field(default_factory=dict)

    @property
    def checks(self) -> list[str]:
        """The requirements this write exercises."""
        found = []
        if self.refused:
            found.append(self.refused)
        elif self.move:
            found.append("allowed_transitions_accepted")
        if self.guarded or self.guard:
            found.append("guards_enforced")
        return found


def _move(
    op: Operation, source: str, target: str, ctx: Context, outcome: Outcome
) -> Outcome | None:
    """Refuse an undeclared move or a failing guard; None when the move may go ahead."""
    lifecycle = op.resource.lifecycle
    if lifecycle is None:
        return None
    outcome.move = (source, target)
    transition = lifecycle.find(source, target, op.operation_id)
    if transition is None:
        final = source in lifecycle.terminal
        outcome.refused = "terminal_states_final" if final else "forbidden_transitions_refused"
        return outcome
    outcome.guarded = bool(transition.guards)
    for guard in transition.guards:
        if guard.refuses(ctx):
            outcome.guard = guard
            outcome.refused = "guards_enforced"
            return outcome
    return None


def read_only(resource: Resource, record: JSONObject) -> bool:
    """The record is in one of its lifecycle's `read-only` states: every write is a 409."""
    lifecycle = resource.lifecycle
    return lifecycle is not None and record.get(lifecycle.field) in lifecycle.read_only


def expect_update(op: Operation, record: JSONObject, body: JSONObject) -> Outcome:
    """An update: merge the body; a changed status follows the lifecycle."""
    resource = op.resource
    if read_only(resource, record):
        return Outcome(refused=READ_ONLY)
    new = copy.deepcopy(record)
    ctx = context(resource, body=body, record=new)
    changes = stored_fields(resource, body)
    lifecycle = resource.lifecycle
    target = changes.pop(lifecycle.field, None) if lifecycle else None
    new = UPDATE_SEMANTICS.get(op.update)(new, changes)
    ctx.values["record"] = new
    new.update(predict(dict(_extension(op).get("set", {})), ctx))
    outcome = Outcome()
    if lifecycle is not None and target is not None and target != new[lifecycle.field]:
        refused = _move(op, new[lifecycle.field], target, ctx, outcome)
        if refused:
            return refused
        _enter(resource, new, target, ctx)
    _finish(resource, new, ctx)
    outcome.record = new
    return outcome


def expect_transition(
    op: Operation, record: JSONObject, body: JSONObject, path: JSONObject, magic: bool
) -> Outcome:
    """A transition operation: to its target (a literal, a body field, or a magic value); an
    admin operation is sent with the admin token (its `$auth` values are that token's)."""
    resource = op.resource
    lifecycle = resource.lifecycle
    if lifecycle is None:
        raise ValueError(f"{op.operation_id}: the resource has no lifecycle")
    if read_only(resource, record):
        return Outcome(refused=READ_ONLY)
    caller = ADMIN if op.admin else USER
    ctx = context(resource, body=body, path=path, record=record, **{CALLER: caller})
    values = _magic(op, ctx, magic)
    outcome = Outcome(magic=dict(values))
    target = values.pop(lifecycle.field, None)
    if target is None:
        target = body.get(op.target_field) if op.target_field else op.target
    refused = _move(op, record[lifecycle.field], str(target), ctx, outcome)
    if refused:
        return refused
    new = copy.deepcopy(record)
    ctx.values["record"] = new
    changes = stored_fields(resource, body)
    changes.pop(lifecycle.field, None)
    new.update(changes)
    collect = _extension(op).get("collect")
    if collect:
        into = dict(new.get(collect["into"]) or {})
        into[str(predict("$" + collect["key"], ctx))] = predict(collect["item"], ctx)
        new[collect["into"]] = into
    new.update(predict(dict(_extension(op).get("set", {})), ctx))
    _enter(resource, new, str(target), ctx)
    new.update(values)
    _finish(resource, new, ctx)
    outcome.record = new
    return outcome


def clock_move(
    resource: Resource, record: JSONObject, low: datetime, high: datetime
) -> tuple[str, bool] | None:
    """The clock transition due for the record between `low` and `high` (server time).

    Returns (target, certain): certain when the moment is before `low`, uncertain when it
    falls between the two.
    """
    lifecycle = resource.lifecycle
    if lifecycle is None:
        return None
    for transition in lifecycle.clock_transitions:
        moment = record.get(transition.clock or "")
        if record.get(lifecycle.field) not in transition.sources:
            continue
        if moment is None or moment is UNKNOWN or isinstance(moment, OneOf):
            continue
        when = parse_time(moment)
        if when <= low:
            return transition.target, True
        if when <= high:
            return transition.target, False
    return None


def apply_clock(resource: Resource, record: JSONObject, target: str, certain: bool) -> None:
    """Move the model's record along a clock transition (or make its state uncertain)."""
    lifecycle = resource.lifecycle
    if lifecycle is None:
        return
    if certain:
        _enter(resource, record, target, context(resource, record=record))
    else:
        record[lifecycle.field] = OneOf((record[lifecycle.field], target))
    record[resource.updated_field] = UNKNOWN


def same(expected: Any, observed: Any) -> bool:
    if isinstance(expected, bool) or isinstance(observed, bool):
        return expected is observed
    return bool(expected == observed)


def mismatches(expected: Any, observed: Any, where: str = "") -> list[str]:
    """Where the observed value differs from the expected one (UNKNOWN, and an `AuthValue`
    not learnt yet, match anything)."""
    if expected is UNKNOWN or isinstance(expected, AuthValue):
        return []
    if isinstance(expected, OneOf):
        if any(same(v, observed) for v in expected.values):
            return []
        return [f"{where or 'value'} is {observed!r}, expected one of {list(expected.values)!r}"]
    if isinstance(expected, dict) and isinstance(observed, dict):
        found: list[str] = []
        for key, value in expected.items():
            if key in observed:
                found += mismatches(value, observed[key], f"{where}.{key}" if where else key)
        return found
    if isinstance(expected, list) and isinstance(observed, list) and len(expected) == len(observed):
        found = []
        for index, (want, got) in enumerate(zip(expected, observed, strict=True)):
            found += mismatches(want, got, f"{where}[{index}]")
        return found
    if same(expected, observed):
        return []
    return [f"{where or 'value'} is {observed!r}, expected {expected!r}"]


def adopt(expected: Any, observed: Any) -> Any:
    """The expected value with what the server showed filled in for the unknown parts."""
    if expected is UNKNOWN or isinstance(expected, OneOf | AuthValue):
        return copy.deepcopy(observed)
    if isinstance(expected, dict) and isinstance(observed, dict):
        return {
            key: adopt(value, observed[key]) if key in observed else value
            for key, value in expected.items()
        }
    return expected
