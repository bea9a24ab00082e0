"""One lifecycle scenario's bookkeeping: requests, observations and the model's records.

`Scenario` holds what the rules of the state machine share: sending a request and keeping its
exchange, comparing what the server shows with the model, the server-time window used for the
clock and for `updated_at`, and the verdicts (one `Tally` per requirement).
"""

import re
import time
from datetime import datetime, timedelta
from typing import Any

from conformance.checks import VerdictLost
from conformance.layers.lifecycle_model import (
    ADMIN,
    UNKNOWN,
    USER,
    AuthValue,
    OneOf,
    adopt,
    apply_clock,
    clock_move,
    loose,
    mismatches,
    same,
    settle,
    settle_clock,
)
from conformance.layers.lifecycle_plan import (
    MAX_TRANSPORT_ERRORS,
    UNREACHABLE,
    Plan,
    Run,
    Violation,
)
from conformance.records import create_parents, envelope_path, parse_json
from conformance.requests import body_kwargs, headers_for, params_for, path_for
from conformance.results import Exchange
from conformance.tally import tally_of
from conformance.target import bearer
from conformance.watch import DOWN, HANGING, LIMIT
from kycspec.expressions import parse_time
from kycspec.idformat import id_pattern
from kycspec.model import Operation
from kycspec.types import JSONObject

# specs/README.md: `$auth.actor` is a stable UUID for the API key (each key its own), the other
# `$auth` values are the account's (the token and the admin token share one account).
PER_KEY = ("actor",)
ACCOUNT = "account"
AUTH_MOVED = "{rid}: {field} is {seen!r}; {option} showed $auth.{key} {known!r} before"
AUTH_SHARED = (
    "{rid}: {field} is {seen!r}, which {other} showed as its $auth.{key}; "
    "{option} is another API key (each key has its own)"
)
AUTH_UNCONFIRMED = (
    "{rid}: {field} is {seen!r} on a record {option} created, but a write by that key "
    "set {known!r} as its $auth.{key}"
)
UNCONFIRMED = (
    "$auth.{key} of {option} ({field}): no create made with that key showed it, so the value "
    "its writes set could not be compared"
)
UNREPORTABLE = "neither {check} nor {rule} applies to this resource; lost failure: {message}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _option(caller: str) -> str:
    """The command-line option that gives a credential (`admin_token`: `--admin-token`)."""
    return "--" + caller.replace("_", "-")


def time_problem(value: Any, fmt: str) -> str | None:
    if fmt == "unix":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return None
        return f"{value!r} is not Unix seconds (an integer)"
    if isinstance(value, str) and RFC3339.match(value):
        return None
    return f"{value!r} is not an RFC 3339 timestamp"


def record_schema(op: Operation, marker: str) -> JSONObject:
    """The response schema of the part of the body the envelope puts `marker` at."""
    path = envelope_path(op, marker)
    if path is None:
        return {}
    schema = op.success_schema or {}
    for key in path:
        schema = schema.get("properties", {}).get(key, {})
    return schema.get("items", {}) if marker == "$items" else schema


class Scenario:
    """The helpers behind the rules; the records the model expects, by id."""

    def __init__(self, plan: Plan, run: Run):
        self.plan = plan
        self.run = run
        self.resource = plan.resource
        self.records: dict[str, JSONObject] = {}
        self.order: list[str] = []
        self.deleted: list[str] = []
        self.created: dict[str, Any] = {}
        self.updated: dict[str, Any] = {}
        self.clock_due: set[str] = set()
        self.unsettled: set[str] = set()  # written since the update time was last seen
        self.anchor: tuple[datetime, float] | None = None
        self.sent_low: datetime | None = None  # the server clock's lower bound at the last send
        self.halted = False
        self.number = 0  # counted from the first step: hypothesis discards some runs unstarted
        self.parents: dict[str, str] | None = None  # path values of this scenario's parents

    def parent_params(self) -> dict[str, str]:
        """Path values naming the scenario's parent records, created on first use (after the
        sandbox reset), so every record of the scenario lives under the same parents."""
        if self.parents is None:
            target = self.run.target
            self.parents, _ = create_parents(self.run.client, self.resource, target.token)
        return self.parents

    def path(
        self, op: Operation, key: str | None = None, values: dict[str, Any] | None = None
    ) -> str:
        """The operation's path for record `key`, under the scenario's parents."""
        return path_for(op, key, {**(values or {}), **self.parent_params()})

    def begin(self) -> None:
        self.run.scenario += 1
        self.number = self.run.scenario
        self.run.client.take()

    # -- verdicts -------------------------------------------------------------------------

    def ran(self, check: str, unit: str | None = None) -> None:
        tally = tally_of(self.run.tallies, check)
        if tally is not None:
            tally.ran(unit=unit)
            self.run.scenarios.setdefault(check, set()).add(self.number)

    def record_failure(
        self, check: str, message: str, rule: str, also: tuple[str, ...] = ()
    ) -> None:
        """A broken requirement ends the scenario; its failure goes to `check`, or to the
        rule's own check when `check` does not apply to this resource (a control plane that
        stopped answering mid-scenario, say). It is never dropped. The requirements `also`
        broken by the same answer fail with it, where they apply."""
        tally = tally_of(self.run.tallies, check) or tally_of(self.run.tallies, rule)
        if tally is None:
            raise VerdictLost(UNREPORTABLE.format(check=check, rule=rule, message=message))
        text = f"{message} (scenario {self.number}, seed {self.run.settings.seed})"
        for each in (tally, *(tally_of(self.run.tallies, name) for name in also)):
            if each is not None:
                each.fail(text, tuple(self.run.client.exchanges))
        self.halted = True

    # -- requests -------------------------------------------------------------------------

    def send(
        self,
        check: str,
        op: Operation,
        path: str,
        *,
        admin: bool = False,
        body: Any = None,
        params: dict[str, Any] | None = None,
        needed_by: tuple[str, ...] = (),
    ) -> tuple[Exchange, Any]:
        """Send a request for `check`; `needed_by` are other requirements that need its answer
        (they fail with `check` when the answer breaks a limit)."""
        target = self.run.target
        token = target.admin_token if admin else target.token
        media = op.request_media_types[0] if op.request_media_types else None
        extra = body_kwargs(op, media, body) if body is not None else {}
        bounds = self.window()
        self.sent_low = bounds[0] if bounds else None
        exchange = self.run.client.request(
            op.method,
            path,
            headers=headers_for(op, target, token),
            params={**params_for(op, token), **(params or {})} or None,
            **extra,
        )
        return exchange, self._parsed(check, exchange, needed_by)

    def control(self, method: str, path: str, body: Any = None) -> tuple[Exchange, Any]:
        url = f"{self.run.target.control_url or ''}".rstrip("/") + path
        headers = bearer(self.run.target.control_token)
        exchange = self.run.client.request(method, url, json=body, headers=headers, absolute=True)
        return exchange, self._parsed("clock_expiry", exchange)

    def _parsed(self, check: str, exchange: Exchange, needed_by: tuple[str, ...] = ()) -> Any:
        where = f"{exchange.method} {exchange.url}"
        if exchange.outage == DOWN:
            self.run.stopped = UNREACHABLE
        elif exchange.error and exchange.outage is None:
            # A lost connection; an answer cut off at a limit, none in time, or a request not
            # sent to a hanging operation is the server's failure, judged below with the limit.
            self.run.transport_errors += 1
            if self.run.transport_errors >= MAX_TRANSPORT_ERRORS:
                self.run.stopped = UNREACHABLE
        if exchange.error and exchange.outage in (LIMIT, HANGING):
            # the error names the limit the answer broke
            raise Violation(check, f"{where}: {exchange.error}", also=needed_by)
        if exchange.error:
            raise Violation(check, f"{where}: no response ({exchange.error})")
        document = parse_json(exchange)
        if exchange.response_body and document is None:
            raise Violation(
                check, f"{where} answered {exchange.status} with a body that is not JSON"
            )
        return document

    # -- time -----------------------------------------------------------------------------

    def window(self) -> tuple[datetime, datetime] | None:
        """Bounds on the server's clock now (it runs at real speed from the last anchor)."""
        if self.anchor is None:
            return None
        moment, at = self.anchor
        low = moment + timedelta(seconds=time.monotonic() - at)
        return low, low + timedelta(seconds=3)

    def observe_time(self, value: Any) -> None:
        try:
            moment = parse_time(value)
        except (TypeError, ValueError, OverflowError):
            return
        bounds = self.window()
        if bounds is None or moment > bounds[0]:
            self.anchor = (moment, time.monotonic())

    def tick(self) -> None:
        """Move the model's records along the clock transitions that are due by now."""
        bounds = self.window()
        if bounds is None or self.resource.lifecycle is None:
            return
        for rid in self.live():
            record = self.records[rid]
            move = clock_move(self.resource, record, *bounds)
            if move is not None:
                apply_clock(self.resource, record, *move)
                self.clock_due.add(rid)

    # -- records --------------------------------------------------------------------------

    def live(self, *, certain: bool = False) -> list[str]:
        status = self.resource.status_field
        return [
            rid
            for rid in self.order
            if rid in self.records
            and not (certain and status and isinstance(self.records[rid].get(status), OneOf))
        ]

    def observe(
        self, op: Operation, rid: str, seen: Any, *, wrote: bool, check: str = "read_after_write"
    ) -> None:
        """Compare what the server shows of a record with the model, then learn from it.

        `wrote`: the request changed the record, so its update time must have moved.
        """
        resource = self.resource
        schema = record_schema(op, "$items" if op.role == "list" else "$record")
        if not isinstance(seen, dict):
            raise Violation(check, f"{op.operation_id}: no record in the response")
        self.check_formats(seen)
        self.check_times(rid, seen, wrote)
        expected = self.records[rid] = self.resolve_auth(rid, self.records[rid], seen, check)
        status = resource.status_field
        if rid in self.clock_due and status is not None and status in seen:
            self.clock_due.discard(rid)
            problems = mismatches(expected.get(status), seen[status], status)
            if problems:
                raise Violation("clock_expiry", f"{rid}: {problems[0]} (the clock passed it)")
            self.ran("clock_expiry")
            expected = settle_clock(resource, expected, seen[status])
        skip = {resource.created_field, resource.updated_field}
        absent = [k for k in schema.get("required", []) if k not in seen]
        absent += [
            k
            for k in schema.get("properties", {})
            if k not in seen and k not in skip and expected.get(k, UNKNOWN) not in (UNKNOWN, None)
        ]
        if absent:
            fields = ", ".join(dict.fromkeys(absent))
            raise Violation(check, f"{op.operation_id}: {rid} lacks the field(s) {fields}")
        wanted = settle({k: v for k, v in expected.items() if k not in skip}, seen)
        problems = mismatches(wanted, seen)
        if problems:
            raise Violation(check, f"{op.operation_id}: {rid}: " + "; ".join(problems[:3]))
        self.records[rid] = adopt(expected, seen)
        self.ran_compared(check, *loose(wanted, seen))

    def ran_compared(self, check: str, exact: bool, parts: list[str]) -> None:
        """A comparison with the model happened: it counts as exercising `check` only where
        some value was known exactly; values known only by their form (or not at all) are
        noted, so a requirement no exact comparison ever reached is "partly exercised"."""
        tally = tally_of(self.run.tallies, check)
        if tally is None:
            return
        self.ran(check)
        tally.compared(exact, parts)

    def owner(self, value: AuthValue) -> str:
        """Whose `$auth` value it is: the API key's (per-key values), else the account's."""
        if value.key in PER_KEY:
            return str(getattr(self.run.target, value.caller))
        return ACCOUNT

    def resolve_auth(
        self, rid: str, expected: JSONObject, seen: JSONObject, check: str
    ) -> JSONObject:
        """The record with its `$auth` values filled in: as an earlier record showed them for
        the same owner, or learnt from `seen` (a per-key value must differ from every other
        key's). A value the server recorded for the wrong caller breaks `check`."""
        resolved = dict(expected)
        for name, value in expected.items():
            if not isinstance(value, AuthValue) or name not in seen:
                continue
            owner, option = self.owner(value), _option(value.caller)
            learnt = (value.key, owner)
            known = self.run.auth.get(learnt, UNKNOWN)
            if known is UNKNOWN:
                for (key, other), shown in self.run.auth.items():
                    if key == value.key and other != owner and same(shown, seen[name]):
                        message = AUTH_SHARED.format(
                            rid=rid,
                            field=name,
                            seen=seen[name],
                            key=key,
                            option=option,
                            other=self._option_of(other),
                        )
                        raise Violation(check, message)
                known = self.run.auth[learnt] = seen[name]
                if not value.create:
                    # Learnt from the write under check itself: it proves nothing until a
                    # create by the same key shows the same value.
                    what = UNCONFIRMED.format(key=value.key, option=option, field=name)
                    self.run.unconfirmed[learnt] = (check, what)
            elif not same(known, seen[name]):
                unconfirmed = self.run.unconfirmed.get(learnt)
                if value.create and unconfirmed is not None:
                    message = AUTH_UNCONFIRMED.format(
                        rid=rid,
                        field=name,
                        seen=seen[name],
                        option=option,
                        key=value.key,
                        known=known,
                    )
                    raise Violation(unconfirmed[0], message, also=(check,))
                message = AUTH_MOVED.format(
                    rid=rid, field=name, seen=seen[name], option=option, key=value.key, known=known
                )
                raise Violation(check, message)
            if value.create:
                self.run.unconfirmed.pop(learnt, None)
            resolved[name] = known
        return resolved

    def _option_of(self, owner: str) -> str:
        target = self.run.target
        names = [n for n in (USER, ADMIN) if getattr(target, n) == owner]
        return _option(names[0]) if names else owner

    def check_formats(self, seen: JSONObject) -> None:
        resource = self.resource
        problems = []
        if resource.id_field in seen:
            value = seen[resource.id_field]
            if not isinstance(value, str) or not id_pattern(resource.id_format).match(value):
                problems.append(f"{resource.id_field} {value!r} is not like {resource.id_format}")
        for name in (resource.created_field, resource.updated_field):
            if name in seen:
                problem = time_problem(seen[name], resource.time_format)
                if problem:
                    problems.append(f"{name} {problem}")
        if problems:
            raise Violation("server_fields_format", "; ".join(problems))
        self.ran("server_fields_format")

    def check_times(self, rid: str, seen: JSONObject, wrote: bool) -> None:
        created = seen.get(self.resource.created_field)
        updated = seen.get(self.resource.updated_field)
        names = (self.resource.created_field, self.resource.updated_field)
        check = "timestamps_consistent"
        if created is not None:
            first = self.created.setdefault(rid, created)
            if created != first:
                raise Violation(check, f"{rid}: {names[0]} changed from {first!r} to {created!r}")
        if updated is not None:
            # Two server clocks (replicas behind one URL) may differ by the run's clock skew.
            skew = timedelta(seconds=self.run.settings.clock_skew_s)
            moment = parse_time(updated) + skew
            last = self.updated.get(rid)
            if last is not None and moment < parse_time(last):
                raise Violation(check, f"{rid}: {names[1]} went back from {last!r} to {updated!r}")
            if created is not None and moment < parse_time(created):
                raise Violation(check, f"{rid}: {names[1]} {updated!r} is before {names[0]}")
            floor = self.sent_low.replace(microsecond=0) if wrote and self.sent_low else None
            if floor is not None and moment < floor:
                raise Violation(
                    check, f"{rid}: {names[1]} {updated!r} did not move on a change at {floor}"
                )
            self.updated[rid] = updated
            self.unsettled.discard(rid)
            self.observe_time(updated)
        if created is not None:
            self.observe_time(created)
        self.ran(check)
