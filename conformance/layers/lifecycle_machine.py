"""The lifecycle state machine: hypothesis rules for every role a resource's spec declares.

Each rule draws a request, asks the reference model what a conforming server must answer, sends
it and compares. A broken requirement ends the scenario (the model no longer knows the server's
state); the transcript since the scenario began is the evidence.
"""

import time
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from conformance.checks import VerdictLost
from conformance.layers.lifecycle_inputs import (
    body_strategy,
    model_body,
    pick,
    property_schema,
    steer_when,
    unique_value,
)
from conformance.layers.lifecycle_list import cover_filters, walk_list
from conformance.layers.lifecycle_model import (
    ADMIN,
    USER,
    AuthValue,
    context,
    expect_create,
)
from conformance.layers.lifecycle_plan import BUDGET_SPENT, Plan, Run, Violation
from conformance.layers.lifecycle_scenario import PER_KEY, Scenario
from conformance.layers.lifecycle_writes import Steps
from conformance.records import record_from
from conformance.requests import required_query
from kycspec.expressions import parse_time
from kycspec.types import JSONObject

FIRST_RECORDS = 4
START_CHECK = "initial_state_by_input"
NOT_STARTED = "a {resource} created with input meeting {when} is {seen!r}, not {state!r}"
NO_SANDBOX = "the sandbox behind --token is not known (--sandbox, or token introspection)"
WRITES_IN_A_ROW = 4


class LifecycleMachine(RuleBasedStateMachine, Steps):
    """One scenario: records created, read, listed, updated, moved and deleted at random."""

    def __init__(self, plan: Plan, run: Run):
        RuleBasedStateMachine.__init__(self)
        Scenario.__init__(self, plan, run)
        create = plan.create
        schema = property_schema(create, plan.scope) if plan.scope else None
        self.scope_value = unique_value(schema) if schema is not None else None
        # The scenario's second record goes to another customer of its own: the lists, all
        # within the first, then show that the scope filter is applied.
        self.other_scope_value = unique_value(schema) if schema is not None else None

    def teardown(self) -> None:
        if self.number:
            self.run.progress()

    def step(self, action: Callable[[], None], check: str) -> None:
        """Run a rule's body unless the scenario is over; a violation ends it."""
        if self.halted or self.run.stopped:
            return
        if self.run.settings.time_left() <= 0:
            self.run.stopped = BUDGET_SPENT
            return
        try:
            if not self.number:
                self.begin()
                self.setup()
            if not self.run.stopped:
                action()
            if not (self.halted or self.run.stopped):
                cover_filters(self)
        except Violation as violation:
            self.record_failure(violation.check, violation.message, check, violation.also)
        except Flaky:
            # The server answered differently from an earlier run with the same choices (a
            # timing edge); hypothesis cannot replay that, so the scenario ends unjudged.
            self.halted = True
        except VerdictLost:
            raise
        except Exception as exc:  # a server answer the rule could not read
            self.record_failure(check, f"unexpected answer ({type(exc).__name__}: {exc})", check)

    def setup(self) -> None:
        target = self.run.target
        if not target.control_url:
            return
        if target.sandbox is None:
            self.run.stopped = NO_SANDBOX
            return
        sandbox = f"/sandboxes/{target.sandbox}"
        exchange, _ = self.control("POST", f"{sandbox}/reset")
        clock, body = self.control("GET", f"{sandbox}/clock")
        if exchange.status != 204 or clock.status != 200 or not isinstance(body, dict):
            self.run.stopped = f"the control plane at {self.run.target.control_url} did not answer"
            return
        self.anchor = (parse_time(body["now"]), _now())

    # -- rules ----------------------------------------------------------------------------

    @initialize(data=st.data())
    def first_records(self, data: st.DataObject) -> None:
        # A few records from the start, so lists have pages to walk from the first step.
        for _ in range(data.draw(st.integers(1, FIRST_RECORDS), label="records")):
            self.step(lambda: self._create(data), "read_after_write")

    @rule(data=st.data())
    def create(self, data: st.DataObject) -> None:
        self.step(lambda: self._create(data), "read_after_write")

    @precondition(lambda self: self.plan.read is not None and bool(self.order))
    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        rid = pick(data, self.order, "record")
        self.step(lambda: self._read(rid), "read_after_write")

    @precondition(lambda self: bool(self.plan.lists and self.order and self.listable))
    @rule(data=st.data())
    def list_records(self, data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(self.plan.lists), label="operation")
        self.step(lambda: walk_list(self, op, data), "list_filters_exact")

    @precondition(lambda self: bool(self.writers) and bool(self.live(certain=True)))
    @rule(data=st.data())
    def write(self, data: st.DataObject) -> None:
        """Updates or transition operations: one rule, so every scenario writes, a few times
        in a row, so records get deep into their lifecycle."""
        for _ in range(data.draw(st.integers(1, WRITES_IN_A_ROW), label="writes")):
            if self.halted or not self.live(certain=True):
                return
            self._write(data)

    def _write(self, data: st.DataObject) -> None:
        # Half the time aim at a record the operation can move, so deep states get reached.
        movable = self._movable()
        aim = data.draw(st.booleans(), label="aim")
        if movable and aim:
            op, rids = pick(data, movable, "operation")
            rid = pick(data, rids, "record")
        else:
            op = data.draw(st.sampled_from(self.writers), label="operation")
            rid = pick(data, self.live(certain=True), "record")
        # Time passing before a write shows whether the write moves the update time.
        if self.has_control and data.draw(st.booleans(), label="advance clock first"):
            self.step(lambda: self._advance(data), "timestamps_consistent")
        if op.role == "update":
            self.step(lambda: self._update(op, rid, data), "read_after_write")
        else:
            self.step(lambda: self._transition(op, rid, data), "allowed_transitions_accepted")

    @precondition(lambda self: self.plan.delete is not None and bool(self.live()))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        rid = pick(data, self.live(), "record")
        self.step(lambda: self._delete(rid), "deleted_records_gone")

    @precondition(lambda self: self.has_control and bool(self.order))
    @rule(data=st.data())
    def advance_clock(self, data: st.DataObject) -> None:
        self.step(lambda: self._advance(data), "clock_expiry")

    @property
    def has_control(self) -> bool:
        return bool(self.run.target.control_url)

    @property
    def listable(self) -> bool:
        """Lists are exact only inside the scenario's own customer, or a reset sandbox."""
        return bool(self.plan.scope or self.has_control)

    # -- rule bodies ----------------------------------------------------------------------

    def _create(self, data: st.DataObject) -> None:
        op = self.plan.create
        body = dict(data.draw(body_strategy(op), label="body"))
        path = {
            p["name"]: unique_value(p.get("schema", {}))
            for p in op.parameters
            if p.get("in") == "path"
        }
        if self.plan.scope:
            scope = self.other_scope_value if len(self.order) == 1 else self.scope_value
            (path if self.plan.scope in path else body)[self.plan.scope] = str(scope)
        magic = self._steer(op, data, body, path)
        self._aim_start(body, path)
        path.update(self.parent_params())  # the model sees the parents the path names
        magic_on = self.run.target.magic
        query = required_query(op)
        expected, magic_values = expect_create(op, model_body(body), path, magic_on, USER, query)
        # A create made with the admin key shows that key's own `$auth` values, which its
        # admin writes must then repeat exactly (specs/README.md: a stable UUID per key).
        per_key = any(
            isinstance(v, AuthValue) and v.key in PER_KEY for v in (expected or {}).values()
        )
        caller = USER
        if per_key and self.run.target.admin_token and data.draw(st.booleans(), label="admin"):
            caller = ADMIN
            expected, magic_values = expect_create(
                op, model_body(body), path, magic_on, caller, query
            )
        exchange, _ = self.send(
            "read_after_write",
            op,
            self.path(op, None, path),
            admin=caller == ADMIN,
            body=body,
            params=query,
        )
        if expected is None:
            if not 400 <= (exchange.status or 0) < 500:
                raise Violation(
                    "read_after_write", f"create in a non-initial state: {exchange.status}"
                )
            return
        if exchange.status != op.success_status:
            raise Violation(
                "read_after_write",
                f"{op.operation_id} answered {exchange.status}, expected {op.success_status}",
            )
        seen = record_from(op, exchange)
        rid = (seen or {}).get(self.resource.id_field)
        if not isinstance(rid, str):
            raise Violation("server_fields_format", f"{op.operation_id}: the record has no id")
        self._check_start(body, path, expected, seen)
        self.records[rid] = expected
        self.order.append(rid)
        self._check_magic(magic, magic_values, seen)
        self.observe(op, rid, seen, wrote=True)

    def _aim_start(self, body: JSONObject, path: dict[str, str]) -> None:
        """Until a create has met each conditional `default` rule, the next create's input is
        steered to meet the first one not met yet (earlier rules' conditions do not hold for
        such input unless they overlap, and then the model knows the first one wins)."""
        lifecycle = self.resource.lifecycle
        for number, start in enumerate(lifecycle.starts if lifecycle else ()):
            if number not in self.run.started:
                steer_when(start.raw["when"], body, path)
                return

    def _check_start(
        self, body: JSONObject, path: dict[str, str], expected: JSONObject, seen: Any
    ) -> None:
        """A create whose input met a conditional `default` rule starts in its state (when no
        magic value or body field chose another: the model's state is then the rule's)."""
        lifecycle = self.resource.lifecycle
        if lifecycle is None or not lifecycle.starts or not isinstance(seen, dict):
            return
        start = lifecycle.start_rule(context(self.resource, body=model_body(body), path=path))
        if start is None or expected.get(lifecycle.field) != start.state:
            return
        self.ran(START_CHECK)
        self.run.started.add(lifecycle.starts.index(start))
        if seen.get(lifecycle.field) != start.state:
            raise Violation(
                START_CHECK,
                NOT_STARTED.format(
                    resource=self.resource.name,
                    state=start.state,
                    when=start.raw["when"],
                    seen=seen.get(lifecycle.field),
                ),
            )


def _now() -> float:
    return time.monotonic()
