"""The reading and writing steps of the lifecycle state machine, judged by the model.

A write is an update (the status field set to any state) or a transition operation (to its
literal target, a body field's value, or a magic value); the model says whether the lifecycle
allows it, refuses it (and which requirement that exercises) or a guard refuses it, and what the
record looks like after. A refused write must leave the record as it was.
"""

import math
import time
from typing import Any

from hypothesis import strategies as st

from conformance.envelopes import error_problem
from conformance.layers.lifecycle_inputs import (
    body_strategy,
    model_body,
    pick,
    property_schema,
    steer,
)
from conformance.layers.lifecycle_model import (
    READ_ONLY,
    Outcome,
    context,
    expect_transition,
    expect_update,
    loose,
    mismatches,
    read_only,
    same,
    state_text,
)
from conformance.layers.lifecycle_plan import Violation
from conformance.layers.lifecycle_scenario import Scenario
from conformance.records import (
    GONE_STATUSES,
    GONE_TEXT,
    envelope_path,
    parse_json,
    record_from,
)
from conformance.tally import tally_of
from kycspec.expressions import parse_time
from kycspec.lifecycle import Guard
from kycspec.model import Magic, Operation, Resource
from kycspec.types import JSONObject

# specs/README.md: a request along a transition that is not declared is refused with the
# lifecycle's `refused_status` (409, or the spec's `x-errors.statuses`); a guard refuses with
# its own declared status.
UNDECLARED_REFUSAL = "{what} answered {status}; an undeclared transition is refused with {expected}"
GUARD_REFUSAL = "{what} answered {status}; the guard refuses it with {expected}"
READ_ONLY_REFUSAL = (
    "{what} answered {status}; a record in a read-only state refuses it with {expected}"
)
REFUSED_KIND, GUARD_KIND = "invalid_transition", "guard_failed"  # x-errors kinds
NOT_GONE = "reading deleted {rid} answered {status}, expected {gone}"
SMALL_STEPS = (2, 30, 90)
# What a guard requirement must see: a guard refusing a transition, and one letting it through.
GUARD_REFUSED, GUARD_LET_THROUGH = "refused", "let through"
GUARD_OUTCOMES = (GUARD_REFUSED, GUARD_LET_THROUGH)
CLOCK_MARGIN_S = 3


class Steps(Scenario):
    """Reads, writes, deletes and clock moves, each compared with the model."""

    @property
    def _refused_status(self) -> int:
        """The status of a write the lifecycle refuses (`Lifecycle.refused_status`)."""
        lifecycle = self.resource.lifecycle
        assert lifecycle is not None  # only a lifecycle refuses writes
        return lifecycle.refused_status

    @property
    def writers(self) -> list[Operation]:
        update = [self.plan.update] if self.plan.update else []
        return [*update, *self.plan.transitions]

    def _read(self, rid: str) -> None:
        if rid in self.deleted:
            op = self.plan.read
            assert op is not None
            exchange, _ = self.send("deleted_records_gone", op, self.path(op, rid))
            if exchange.status not in GONE_STATUSES:
                message = NOT_GONE.format(rid=rid, status=exchange.status, gone=GONE_TEXT)
                raise Violation("deleted_records_gone", message)
            self.ran("deleted_records_gone")
            return
        self.read_record(rid, "read_after_write")

    def read_record(self, rid: str, check: str, *, unchanged: bool = False) -> None:
        op = self.plan.read
        if op is None:
            return
        self.tick()
        # A write whose response did not show the update time leaves the last one stale.
        before = None if rid in self.unsettled else self.updated.get(rid)
        exchange, _ = self.send(check, op, self.path(op, rid))
        if exchange.status != op.success_status:
            raise Violation(check, f"reading {rid} answered {exchange.status}")
        seen = record_from(op, exchange)
        moved_by_clock = rid in self.clock_due
        self.observe(op, rid, seen, wrote=False, check=check)
        after = (seen or {}).get(self.resource.updated_field)
        if unchanged and before is not None and after != before and not moved_by_clock:
            raise Violation(check, f"{rid} changed ({before!r} to {after!r}) on a refused write")

    def _update(self, op: Operation, rid: str, data: st.DataObject) -> None:
        body = dict(data.draw(body_strategy(op), label="body"))
        lifecycle = self.resource.lifecycle
        if lifecycle and lifecycle.field in _body_fields(op):
            state = data.draw(st.sampled_from([None, *lifecycle.states]), label="state")
            if state is not None:
                body[lifecycle.field] = state
            elif not body:
                body[lifecycle.field] = self.records[rid][lifecycle.field]
        self.tick()
        outcome = expect_update(op, self.records[rid], model_body(body))
        exchange, _ = self.send(
            outcome.refused or "read_after_write", op, self.path(op, rid), body=body
        )
        self._judge(op, rid, outcome, exchange, None)

    def _movable(self) -> list[tuple[Operation, list[str]]]:
        """Each write operation with the records it can move (by the lifecycle)."""
        lifecycle = self.resource.lifecycle
        if lifecycle is None:
            return []
        found = []
        for op in self.writers:
            sources = lifecycle.sources_of(op.operation_id)
            rids = [
                r for r in self.live(certain=True) if self.records[r][lifecycle.field] in sources
            ]
            if rids:
                found.append((op, rids))
        return found

    def _transition(self, op: Operation, rid: str, data: st.DataObject) -> None:
        lifecycle = self.resource.lifecycle
        assert lifecycle is not None
        body = dict(data.draw(body_strategy(op), label="body"))
        if op.target_field:
            states = property_schema(op, op.target_field).get("enum") or list(lifecycle.states)
            body[op.target_field] = data.draw(st.sampled_from(states), label="target")
        path: dict[str, str] = {}
        key = rid
        if op.lookup is not None:
            key = str(self.records[rid].get(op.lookup.field))
            rid = self._newest(op.lookup.field, key)
        magic = self._steer(op, data, body, path)
        self._provoke_forbidden(op, rid, body)
        self._provoke_guard(op, rid, body, path)
        self.tick()
        outcome = expect_transition(
            op, self.records[rid], model_body(body), path, self.run.target.magic
        )
        check = outcome.refused or "allowed_transitions_accepted"
        exchange, _ = self.send(check, op, self.path(op, key, path), admin=op.admin, body=body)
        self._judge(op, rid, outcome, exchange, magic)

    def _judge(
        self, op: Operation, rid: str, outcome: Outcome, exchange: Any, magic: Magic | None
    ) -> None:
        status = exchange.status
        what = f"{op.operation_id} on {rid}{_states(self.records[rid], outcome, self.resource)}"
        if outcome.refused:
            if outcome.guard is not None and status != outcome.guard.status:
                message = GUARD_REFUSAL.format(
                    what=what, status=status, expected=outcome.guard.status
                )
                raise Violation("guards_enforced", message)
            refused = self._refused_status
            if outcome.guard is None and status != refused:
                text = READ_ONLY_REFUSAL if outcome.refused == READ_ONLY else UNDECLARED_REFUSAL
                message = text.format(what=what, status=status, expected=refused)
                raise Violation(outcome.refused, message)
            self._check_envelope(outcome.refused, what, exchange, outcome.guard)
            for check in outcome.checks:
                self.ran(check, GUARD_REFUSED if check == "guards_enforced" else None)
            self.read_record(rid, outcome.refused, unchanged=True)
            return
        check = outcome.checks[0] if outcome.checks else "read_after_write"
        if status != op.success_status:
            raise Violation(check, f"{what} answered {status}, expected {op.success_status}")
        for name in outcome.checks:
            self.ran(name, GUARD_LET_THROUGH if name == "guards_enforced" else None)
        changed = _changed(self.records[rid], outcome.record or {}, self.resource.updated_field)
        self.records[rid] = outcome.record or {}
        seen = record_from(op, exchange)
        if self.resource.updated_field not in (seen or {}):
            self.unsettled.add(rid)
        if seen is None and op.response is not None and envelope_path(op) is None:
            # The answer is not the record (Sumsub's `{"ok": 1}`): the read shows what it did.
            self.read_record(rid, check)
            return
        self._check_magic(magic, outcome.magic, seen)
        if seen is not None or op.response is not None:
            # A write that changes nothing may keep the update time (it "moves on change").
            self.observe(op, rid, seen, wrote=changed)

    def _delete(self, rid: str) -> None:
        op = self.plan.delete
        assert op is not None
        if read_only(self.resource, self.records[rid]):
            exchange, _ = self.send(READ_ONLY, op, self.path(op, rid))
            if exchange.status != self._refused_status:
                message = READ_ONLY_REFUSAL.format(
                    what=f"deleting {rid}", status=exchange.status, expected=self._refused_status
                )
                raise Violation(READ_ONLY, message)
            self._check_envelope(READ_ONLY, f"deleting {rid}", exchange, None)
            self.ran(READ_ONLY)
            self.read_record(rid, READ_ONLY, unchanged=True)
            return
        exchange, _ = self.send("deleted_records_gone", op, self.path(op, rid))
        if exchange.status != op.success_status:
            raise Violation("deleted_records_gone", f"deleting {rid} answered {exchange.status}")
        del self.records[rid]
        self.deleted.append(rid)
        self._read(rid)

    def _advance(self, data: st.DataObject) -> None:
        bounds = self.window()
        moments = [
            parse_time(self.records[rid][t.clock or ""])
            for rid in self.live()
            for t in (self.resource.lifecycle.clock_transitions if self.resource.lifecycle else ())
            if isinstance(self.records[rid].get(t.clock or ""), str | int)
        ]
        choices: list[int] = list(SMALL_STEPS)
        if bounds and moments:
            ahead = [m for m in moments if m > bounds[0]]
            if ahead:
                seconds = (min(ahead) - bounds[0]).total_seconds()
                choices.append(math.ceil(seconds) + CLOCK_MARGIN_S)
        seconds = pick(data, choices, "seconds")
        path = f"/sandboxes/{self.run.target.sandbox}/clock/advance"
        exchange, body = self.control("POST", path, {"seconds": seconds})
        if exchange.status != 200 or not isinstance(body, dict):
            raise Violation("clock_expiry", f"advancing the clock answered {exchange.status}")
        self.anchor = (parse_time(body["now"]), _now())

    # -- helpers --------------------------------------------------------------------------

    def _check_envelope(self, check: str, what: str, exchange: Any, guard: Guard | None) -> None:
        """A refusal comes in the envelope `x-errors` declares: a guard's with its own code
        (else the `guard_failed` kind's), the lifecycle's in the `invalid_transition` kind."""
        kind = GUARD_KIND if guard is not None else REFUSED_KIND
        errors = self.run.target.spec.errors
        status = exchange.status
        code = guard.code if guard is not None else None
        problem = error_problem(errors, kind, status, parse_json(exchange), status, code)
        if problem:
            raise Violation(check, f"{what}: {problem}")

    def _steer(
        self, op: Operation, data: st.DataObject, body: JSONObject, path: dict[str, str]
    ) -> Magic | None:
        if not (self.run.target.magic and op.magic):
            return None
        magic = data.draw(st.sampled_from([None, *op.magic]), label="magic")
        return magic if magic is not None and steer(magic, body, path) else None

    def _provoke_forbidden(self, op: Operation, rid: str, body: JSONObject) -> None:
        """Until an undeclared move has been sent, aim a write that names its target state at
        one the lifecycle does not allow from the record's state (so the refusal is checked
        whenever such a move exists, not when the draws happen to make one)."""
        tally = tally_of(self.run.tallies, "forbidden_transitions_refused")
        lifecycle = self.resource.lifecycle
        if tally is None or lifecycle is None or tally.cases or not op.target_field:
            return
        source = str(self.records[rid].get(lifecycle.field))
        if source in lifecycle.terminal:
            return
        states = property_schema(op, op.target_field).get("enum") or list(lifecycle.states)
        for state in states:
            if lifecycle.find(source, state, op.operation_id) is None:
                body[op.target_field] = state
                return

    def _provoke_guard(
        self, op: Operation, rid: str, body: JSONObject, path: dict[str, str]
    ) -> None:
        """Until a guard has been seen refusing, set the body field a guard of this write
        requires to a declared value that breaks the requirement (so a guard is reached
        whenever a record it applies to exists, not when the draws happen to break it)."""
        tally = tally_of(self.run.tallies, "guards_enforced")
        lifecycle = self.resource.lifecycle
        if tally is None or lifecycle is None or GUARD_REFUSED in tally.covered:
            return
        record = self.records[rid]
        for transition in lifecycle.transitions:
            if transition.operation != op.operation_id:
                continue
            if record.get(lifecycle.field) not in transition.sources:
                continue
            for guard in transition.guards:
                for name in _required_body_fields(guard.raw.get("require", {})):
                    for value in property_schema(op, name).get("enum", []):
                        trial = model_body({**body, name: value})
                        if guard.refuses(
                            context(self.resource, body=trial, path=path, record=record)
                        ):
                            body[name] = value
                            return

    def _check_magic(self, magic: Magic | None, values: JSONObject, seen: Any) -> None:
        if magic is None or not isinstance(seen, dict):
            return
        problems = mismatches(values, seen)
        if problems:
            raise Violation(
                "sandbox_magic_values", f"{magic.description.strip()} " + "; ".join(problems[:3])
            )
        self.ran_compared("sandbox_magic_values", *loose(values, seen))

    def _newest(self, field: str, value: str) -> str:
        matching = [rid for rid in self.live() if str(self.records[rid].get(field)) == value]
        return matching[-1]


def _states(record: JSONObject, outcome: Outcome, resource: Resource) -> str:
    """The states a write moves the record between (` (a -> b)`), or the one it is in when the
    write names no other (` (in a)`); empty for a resource without a lifecycle."""
    if outcome.move is not None:
        return f" ({outcome.move[0]} -> {outcome.move[1]})"
    lifecycle = resource.lifecycle
    state = record.get(lifecycle.field) if lifecycle is not None else None
    return f" (in {state_text(state)})" if state is not None else ""


def _changed(before: JSONObject, after: JSONObject, updated: str) -> bool:
    """Whether the model's record changed (a value only the server knows counts as changed)."""
    keys = (set(before) | set(after)) - {updated}
    return any(not same(before.get(k), after.get(k)) for k in keys)


def _required_body_fields(require: Any) -> list[str]:
    """The top-level body fields a guard's `require` condition reads (`body.approvalLevel`)."""
    fields = []
    for where in require if isinstance(require, dict) else ():
        root, *keys = str(where).split(".")
        if root == "body" and len(keys) == 1:
            fields.append(keys[0])
    return fields


def _body_fields(op: Operation) -> set[str]:
    return set((op.request_schema or {}).get("properties", {}))


def _now() -> float:
    return time.monotonic()
