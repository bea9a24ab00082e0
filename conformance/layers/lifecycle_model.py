"""The lifecycle layer's reference model: what a conforming server answers, in plain dicts.

The model reads the same `x-resources` declaration the server implements: defaults, derived
fields, on-enter values, operation `set` and `collect` values, sandbox magic, transitions and
guards. Values only the server can know are not compared for equality: a generated id
(`$id:vr_{alnum:24}`, the record's own id) is a `Form` (any value of the declared id format), a
`$text:` template with such parts a `Form` of its fixed pieces around them (evaluated again once
the record it reads is known), and `$now` or `$auth.*` are `UNKNOWN` (or an `AuthValue`). The
rule is the same everywhere: a known value must be equal, a partly known one match its pattern,
an unknown one is not compared. Once a response shows such a value it is expected to stay put.
"""

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kycspec.expressions import Context, compile_value, parse_time, text_parts
from kycspec.idformat import id_pattern
from kycspec.lifecycle import Guard
from kycspec.model import Operation, Resource
from kycspec.types import JSONObject
from kycspec.updates import UPDATE_SEMANTICS


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"

    # One sentinel: a record copied for the next write still says "unknown" by identity.
    def __copy__(self) -> "_Unknown":
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> "_Unknown":
        return self


UNKNOWN: Any = _Unknown()
SERVER_ONLY = "$now"
GENERATED = "$id:"
TEXT = "$text:"
AUTH = "$auth."
ANY_TEXT = ".*"
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


@dataclass(frozen=True)
class Form:
    """A string the model knows only by its form: `pattern` (a regular expression the whole
    value matches) and `form` (how the spec declares it, for messages). `redo` evaluates the
    declaration again against the record as the server showed it (a `$text:` template that
    reads the record's id), so it is compared exactly once that record is known."""

    pattern: str
    form: str
    redo: Callable[[JSONObject], Any] | None = field(default=None, compare=False)

    def fits(self, value: Any) -> bool:
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None

    def __repr__(self) -> str:
        return f"a value like {self.form!r}"


def id_form(fmt: str) -> Form:
    """Any id of the id format (`vr_{alnum:24}`, kycspec.idformat)."""
    return Form(id_pattern(fmt).pattern.removeprefix("^").removesuffix("$"), fmt)


def known(value: Any) -> bool:
    """The model knows the value exactly (not unknown, one of several, or only its form)."""
    return not (value is UNKNOWN or isinstance(value, OneOf | AuthValue | Form))


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
        if template.startswith(GENERATED):
            return id_form(template[len(GENERATED) :])
        if template.startswith(TEXT):
            return _text(template[len(TEXT) :], ctx)
        return compile_value(template)(ctx)
    return template


def _text(template: str, ctx: Context) -> Any:
    """A `$text:` template: the text when every part is known, else a `Form` with the fixed
    pieces exactly and each unknown part as any value of its form (any text when the model
    knows nothing of it)."""
    pieces, paths = text_parts(template)
    values = [ctx.lookup(root, keys) for root, keys in paths]
    if all(known(value) for value in values):
        return compile_value(TEXT + template)(ctx)
    pattern, form = re.escape(pieces[0]), pieces[0]
    for piece, value, (root, keys) in zip(pieces[1:], values, paths, strict=True):
        if isinstance(value, Form):
            pattern += f"(?:{value.pattern})"
        elif known(value):
            pattern += re.escape("" if value is None else str(value))
        else:
            pattern += ANY_TEXT
        pattern += re.escape(piece)
        form += "{" + ".".join((root, *keys)) + "}" + piece
    redo = None
    if any(root == "record" for root, _ in paths):
        values_then = dict(ctx.values)

        def redo(shown: JSONObject) -> Any:
            again = Context(ctx.now, ctx.time_format, {**values_then, "record": shown})
            return _text(template, again)

    return Form(pattern, form, redo)


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
    op: Operation,
    body: JSONObject,
    path: JSONObject,
    magic: bool,
    caller: str = USER,
    query: JSONObject | None = None,
) -> tuple[JSONObject | None, JSONObject]:
    """The record a create makes (None when the server must refuse it), and the magic values;
    `caller` is the credential that sends it (`USER` or `ADMIN`), `query` the query
    parameters sent (`$query.<name>` in `set` and defaults)."""
    resource = op.resource
    record: JSONObject = {resource.id_field: id_form(resource.id_format)}
    inputs: JSONObject = {"body": body, "path": path, "query": query or {}, "record": record}
    ctx = context(resource, **inputs, **{CALLER: caller, CREATING: True})
    record.update(predict(dict(resource.raw.get("defaults", {})), ctx))
    record.update(stored_fields(resource, path))
    record.update(stored_fields(resource, body))
    record.update(resource.parent_field(path))
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


def state_text(state: Any) -> str:
    """A lifecycle state as messages show it: `pending or onHold` for a `OneOf`."""
    return " or ".join(map(str, state.values)) if isinstance(state, OneOf) else str(state)


def _move(
    op: Operation, source: Any, target: str, ctx: Context, outcome: Outcome
) -> Outcome | None:
    """Refuse an undeclared move or a failing guard; None when the move may go ahead."""
    lifecycle = op.resource.lifecycle
    if lifecycle is None:
        return None
    outcome.move = (state_text(source), target)
    # A state the clock may or may not have changed (`OneOf`): the move is declared when it is
    # from every candidate.
    sources = source.values if isinstance(source, OneOf) else (source,)
    found = [lifecycle.find(value, target, op.operation_id) for value in sources]
    transition = found[0] if all(found) else None
    if transition is None:
        final = all(value in lifecycle.terminal for value in sources)
        outcome.refused = "terminal_states_final" if final else "forbidden_transitions_refused"
        return outcome
    outcome.guarded = bool(transition.guards)
    for guard in transition.guards:
        if guard.refuses(ctx):
            outcome.guard = guard
            outcome.refused = "guards_enforced"
            return outcome
    return None


def read_only(resource: Resource, record: JSONObject, move: tuple[str, str] | None = None) -> bool:
    """The record is in one of its lifecycle's `read-only` states and refuses the write: every
    write but a `move` (operation, target) the lifecycle declares out of the state. A state the
    clock may or may not have changed (`OneOf`) refuses when each of its values does."""
    lifecycle = resource.lifecycle
    if lifecycle is None:
        return False
    state = record.get(lifecycle.field)
    states = state.values if isinstance(state, OneOf) else (state,)
    return all(lifecycle.refuses(value, move) for value in states)


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
    caller = ADMIN if op.admin else USER
    ctx = context(resource, body=body, path=path, record=record, **{CALLER: caller})
    values = _magic(op, ctx, magic)
    outcome = Outcome(magic=dict(values))
    target = values.pop(lifecycle.field, None)
    if target is None:
        target = body.get(op.target_field) if op.target_field else op.target
    if read_only(resource, record, (op.operation_id, str(target))):
        return Outcome(refused=READ_ONLY)
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
        if moment is None or not known(moment):
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


def settle_clock(resource: Resource, record: JSONObject, shown: Any) -> JSONObject:
    """The record whose state a clock transition may or may not have changed (a `OneOf` of the
    state before and the target) in the state the server showed: if that is the target, with
    the target's on-enter values (predicted then, so a generated id is known by its form)."""
    lifecycle = resource.lifecycle
    state = record.get(lifecycle.field) if lifecycle is not None else None
    if lifecycle is None or not isinstance(state, OneOf):
        return record
    new = dict(record)
    if same(state.values[0], shown):
        new[lifecycle.field] = shown
    elif any(same(value, shown) for value in state.values[1:]):
        _enter(resource, new, str(shown), context(resource, record=new))
    return new


def same(expected: Any, observed: Any) -> bool:
    if isinstance(expected, bool) or isinstance(observed, bool):
        return expected is observed
    return bool(expected == observed)


def settle(expected: JSONObject, seen: JSONObject) -> JSONObject:
    """The expected record with its templates that read the record evaluated again against the
    record as the server showed it (its id, say): each is then compared exactly, or by the
    pattern of what is still unknown. A shown value the template reads is taken only where it
    fits the model (a wrong id fails on its own field)."""
    shown = {
        key: value
        for key, value in adopt(expected, seen).items()
        if key not in expected or not mismatches(expected[key], value)
    }
    return {
        key: value.redo(shown) if isinstance(value, Form) and value.redo else value
        for key, value in expected.items()
    }


def loose(expected: Any, observed: Any, where: str = "") -> tuple[bool, list[str]]:
    """What a comparison of `observed` with `expected` can check: whether any value shown is
    known exactly, and where only its form (or nothing) is known."""
    if isinstance(expected, dict) and isinstance(observed, dict):
        exact, parts = False, list[str]()
        for key, value in expected.items():
            if key in observed:
                one, more = loose(value, observed[key], f"{where}.{key}" if where else key)
                exact, parts = exact or one, parts + more
        return exact, parts
    if known(expected):
        return True, []
    return False, [where or "value"]


def mismatches(expected: Any, observed: Any, where: str = "") -> list[str]:
    """Where the observed value differs from the expected one: a known value must be equal, a
    `Form` match its pattern, one of several (`OneOf`) equal one of them; UNKNOWN, and an
    `AuthValue` not learnt yet, match anything."""
    if expected is UNKNOWN or isinstance(expected, AuthValue):
        return []
    if isinstance(expected, Form):
        if expected.fits(observed):
            return []
        return [f"{where or 'value'} is {observed!r}, expected {expected!r}"]
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
    if not known(expected):
        return copy.deepcopy(observed)
    if isinstance(expected, dict) and isinstance(observed, dict):
        return {
            key: adopt(value, observed[key]) if key in observed else value
            for key, value in expected.items()
        }
    return expected
