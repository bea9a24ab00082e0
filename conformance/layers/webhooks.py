"""The webhooks layer: the suite receives the server's webhooks and checks each declared one.

It starts its own receiver (`kycspec.receiver`, on a free 127.0.0.1 port, or on
`--webhook-receiver HOST:PORT` for a server that must reach it from elsewhere) and registers it:
on the kyc-contracts control plane when the target has one (`--control-url`, which also gives
the sandbox's signing secret), or else the user has registered it with the vendor and gives the
secret (`--webhook-secret`). Then, for every declared change (`conformance.webhook_routes`), it
creates a record, drives it there, and checks what arrives: each event once, in order per
record, valid against its schema, signed; and, with the receiver failing twice, that a delivery
is retried until acknowledged and not after. What it cannot reach is SKIPPED with the reason.
"""

import itertools
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from conformance.events import LayerStarted, Progress
from conformance.http import TranscriptClient
from conformance.layers.lifecycle_inputs import steer, unique_value
from conformance.nullable import validator
from conformance.records import create_parents
from conformance.requests import body_kwargs, headers_for, path_for, record_path, valid_body
from conformance.requirements import Requirement
from conformance.results import Exchange, Result
from conformance.settings import Emit, Settings
from conformance.tally import Tally, results_of, tallies_for
from conformance.target import Target, bearer
from conformance.webhook_routes import Route, expected_events, path_to, routes
from kycspec import signature
from kycspec.expressions import parse_time
from kycspec.lifecycle import Transition
from kycspec.model import Operation, Resource
from kycspec.receiver import Delivery, WebhookReceiver
from kycspec.types import JSON, JSONObject
from kycspec.webhooks import Webhooks, at_path

LAYER = "webhooks"
FAILURES_BEFORE_SUCCESS = 2
QUIET_MIN_S = 1.0
NO_REGISTRATION = (
    "no way to register the suite's receiver: give --control-url (the kyc-contracts mock), or "
    "register --webhook-receiver HOST:PORT with the server and give --webhook-secret"
)
NO_SECRET = "no signing secret to verify with (--webhook-secret, or --control-url for the mock)"
SUBSCRIBE_REFUSED = "the control plane refused the suite's subscription ({status}): {text}"
NO_ADMIN = "{operation} is admin-only and no admin token was given (--admin-token)"
NEEDS_MAGIC = "{operation} reaches {state} only through the sandbox's magic values (--magic)"
NO_CLOCK = "the clock moves it, and the server offers no clock control (--control-url)"
NO_PATH = "no declared transitions lead from {state} to it"
REFUSED = "{method} {path} answered {status}, so the change did not happen"
NO_RECORD = "the create answered no record with {field}"
NOT_DELIVERED = "{unit}: no {event} delivery for {resource} {id} within {wait:.0f} s"
EMITTED_AGAIN = "{unit}: {count} {event} events for one change of {resource} {id}"
DELIVERED_AGAIN = "event {event_id} was delivered {count} times, each acknowledged with a 2xx"
OUT_OF_ORDER = "{resource} {id}: the events arrived as {got}; its changes happened as {expected}"
UNNAMED = "a delivery names none of the declared events ({known}): {payload:.200}"
PAYLOAD_INVALID = "{event} {event_id}: the payload breaks {schema}: {problem}"
SIGNATURE_REFUSED = "{event} {event_id}: {problem}"
TAMPER_ACCEPTED = "{event} {event_id}: the signature still verifies for a changed body"
NOT_RETRIED = "{event} {event_id} was answered {status} and not tried again within {wait:.0f} s"
NOT_STOPPED = "{event} {event_id} was delivered again {after:.1f} s after a 2xx acknowledged it"
NOTHING_ARRIVED = "no delivery arrived within {wait:.0f} s of the change"


@dataclass
class Driven:
    """A record driven along a route: its id and the events its changes must emit."""

    route: Route
    record_id: str
    expected: list[str]
    exchanges: list[Exchange] = field(default_factory=list)


def run_webhooks(
    target: Target, catalogue: list[Requirement], settings: Settings, emit: Emit
) -> list[Result]:
    """The webhooks layer (see `conformance.settings.Layer` for the contract)."""
    tallies = tallies_for(catalogue, LAYER)
    hooks = target.spec.webhooks
    if not tallies or hooks is None:
        return results_of(tallies, settings.seed)
    planned = routes(target.spec)
    emit(LayerStarted(target.api, LAYER, len(planned) + 1))
    for route in planned:
        for unit in route.units:
            tallies["webhook_event_emitted"].expect(unit)
    if target.control_url is None and target.webhook_receiver is None:
        for tally in tallies.values():
            tally.skip(NO_REGISTRATION, "--control-url")
        return results_of(tallies, settings.seed)
    with TranscriptClient(target) as client, _receiver(target, hooks) as receiver:
        session = Session(target, settings, client, receiver, hooks, tallies)
        if session.register():
            try:
                session.run(planned, emit)
            finally:
                session.unregister()
    return results_of(tallies, settings.seed)


@contextmanager
def _receiver(target: Target, hooks: Webhooks) -> Iterator[WebhookReceiver]:
    host, port = "127.0.0.1", 0
    if target.webhook_receiver:
        host, _, given = target.webhook_receiver.rpartition(":")
        port = int(given)
    receiver = WebhookReceiver(
        secret=target.webhook_secret,
        header=hooks.signature_header,
        host=host,
        port=port,
        scheme=hooks.signature_scheme,
    )
    with receiver:
        yield receiver


class Session:
    """One run of the layer: the registration, the records driven, what arrived."""

    def __init__(
        self,
        target: Target,
        settings: Settings,
        client: TranscriptClient,
        receiver: WebhookReceiver,
        hooks: Webhooks,
        tallies: dict[str, Tally],
    ):
        self.target = target
        self.settings = settings
        self.client = client
        self.receiver = receiver
        self.hooks = hooks
        self.tallies = tallies
        self.subscription: str | None = None
        self.wait_s = target.webhook_wait_s
        self.validators = {name: validator(event.schema) for name, event in hooks.events.items()}

    # -- registration -----------------------------------------------------------------------

    def _control(self, method: str, path: str, body: Any = None) -> Exchange:
        url = f"{self.target.control_url or ''}".rstrip("/") + path
        headers = bearer(self.target.control_token)
        return self.client.request(method, url, headers=headers, json=body, absolute=True)

    def register(self) -> bool:
        """Subscribe the receiver on the control plane (and take the sandbox's secret)."""
        if self.target.control_url is None:
            return True  # the user registered --webhook-receiver with the server
        sandbox = self.target.sandbox or ""
        shown = self._control("GET", f"/webhooks/{sandbox}")
        subscribed = self._control(
            "POST",
            f"/webhooks/{sandbox}/subscriptions",
            {"url": self.receiver.url, "apis": [self.target.spec.name]},
        )
        if shown.status != 200 or subscribed.status != 201:
            failed = subscribed if shown.status == 200 else shown
            message = SUBSCRIBE_REFUSED.format(
                status=failed.status or failed.error, text=failed.response_text(200)
            )
            for tally in self.tallies.values():
                tally.skip(message, "--control-url")
            return False
        self.receiver.secret = str(_json(shown).get("secret") or "") or None
        self.subscription = str(_json(subscribed).get("id"))
        return True

    def unregister(self) -> None:
        if self.subscription is not None:
            sandbox = self.target.sandbox or ""
            self._control("DELETE", f"/webhooks/{sandbox}/subscriptions/{self.subscription}")

    # -- the run ----------------------------------------------------------------------------

    def run(self, planned: list[Route], emit: Emit) -> None:
        driven = []
        for number, route in enumerate(planned, 1):
            found = self.drive(route)
            if found is not None:
                driven.append(found)
            emit(Progress(self.target.api, LAYER, number))
        self._await(driven)
        self._check_emitted(driven)
        self._check_deliveries(self.receiver.received)
        self._check_retries(planned)
        emit(Progress(self.target.api, LAYER, len(planned) + 1))

    def _unreachable(self, route: Route, why: str) -> None:
        """The route's changes cannot be made here: the reason, and the option that helps."""
        fixes = {NO_CLOCK: "--control-url", "admin-only": "--admin-token", "magic": "--magic"}
        fix = next((f for key, f in fixes.items() if key in why), None)
        self.tallies["webhook_event_emitted"].skip(f"{route.units[0]}: {why}", fix)

    def drive(self, route: Route) -> Driven | None:
        """Create a record and make the route's change; None (with the reason noted) when the
        server cannot be brought there."""
        resource = route.resource
        create = self.target.spec.operations_of(resource.name, "create")[0]
        exchanges: list[Exchange] = []
        known = self._create(create, exchanges)
        if isinstance(known, str):
            self._unreachable(route, known)
            return None
        record_id = str(known[resource.id_field])
        steps: list[Transition] = []
        if route.transition is not None:
            lifecycle = resource.lifecycle
            assert lifecycle is not None  # a route with a transition has a lifecycle
            state = str(known.get(lifecycle.field) or lifecycle.default)
            path = path_to(lifecycle, state, route.transition)
            if path is None:
                self._unreachable(route, NO_PATH.format(state=state))
                return None
            for step in path:
                problem = self._step(resource, step, known, exchanges)
                if problem is not None:
                    self._unreachable(route, problem)
                    return None
            steps = path
        return Driven(route, record_id, expected_events(self.hooks, resource, steps), exchanges)

    def _create(self, op: Operation, exchanges: list[Exchange]) -> JSONObject | str:
        resource = op.resource
        parents, failed = create_parents(self.client, resource, self.target.token)
        if failed is not None:
            exchanges.append(failed)
            return REFUSED.format(method=failed.method, path=failed.url, status=failed.status)
        fields = resource.schema.get("properties", {})
        params = {
            p["name"]: unique_value(p.get("schema", {}))
            for p in op.parameters
            if p.get("in") == "path" and p["name"] in fields
        }
        params.update(parents)
        media, payload = valid_body(op)
        exchange = self.client.request(
            op.method,
            path_for(op, None, params),
            headers=headers_for(op, self.target, self.target.token),
            **body_kwargs(op, media, payload),
        )
        exchanges.append(exchange)
        if exchange.status is None or not 200 <= exchange.status < 300:
            return REFUSED.format(method=op.method, path=op.path, status=exchange.status)
        record = _record(_json(exchange), resource.id_field)
        if record is None:
            return NO_RECORD.format(field=resource.id_field)
        return {**params, **record}

    def _step(
        self, resource: Resource, step: Transition, known: JSONObject, exchanges: list[Exchange]
    ) -> str | None:
        """Make one transition happen; the reason when it cannot."""
        if step.clock:
            return self._advance(step.clock, known, exchanges)
        op = self.target.spec.operations[step.operation or ""]
        token = self.target.admin_token if op.admin else self.target.token
        if token is None:
            return NO_ADMIN.format(operation=op.operation_id)
        media, payload = valid_body(op)
        payload = dict(payload or {})
        params: dict[str, str] = {}
        field_name = resource.status_field or ""
        if op.target_field:
            payload[op.target_field] = step.target
        elif op.role == "update":
            payload[field_name] = step.target
        elif op.target != step.target:
            magic = [m for m in op.magic if m.raw.get("set", {}).get(field_name) == step.target]
            if not (self.target.magic and magic and steer(magic[0], payload, params)):
                return NEEDS_MAGIC.format(operation=op.operation_id, state=step.target)
        exchange = self.client.request(
            op.method,
            record_path(op, known, params),
            headers=headers_for(op, self.target, token),
            **body_kwargs(op, media, payload),
        )
        exchanges.append(exchange)
        if exchange.status is None or not 200 <= exchange.status < 300:
            return REFUSED.format(method=op.method, path=op.path, status=exchange.status)
        known.update(_record(_json(exchange), resource.id_field) or {})
        return None

    def _advance(self, field_name: str, known: JSONObject, exchanges: list[Exchange]) -> str | None:
        if self.target.control_url is None:
            return NO_CLOCK
        sandbox = self.target.sandbox or ""
        clock = self._control("GET", f"/sandboxes/{sandbox}/clock")
        exchanges.append(clock)
        try:
            due = parse_time(known[field_name]) - parse_time(_json(clock)["now"])
        except (KeyError, TypeError, ValueError):
            return REFUSED.format(method="GET", path="/clock", status=clock.status)
        seconds = max(1, math.ceil(due.total_seconds()) + 1)
        moved = self._control("POST", f"/sandboxes/{sandbox}/clock/advance", {"seconds": seconds})
        exchanges.append(moved)
        if moved.status != 200:
            return REFUSED.format(method="POST", path="/clock/advance", status=moved.status)
        return None

    # -- what arrived -------------------------------------------------------------------------

    def _about(self, record_id: str) -> list[Delivery]:
        return [d for d in list(self.receiver.received) if _mentions(d.payload, record_id)]

    def _acknowledged(self, record_id: str) -> list[tuple[str, str]]:
        """(event name, event id) of the record's acknowledged events, first ack each."""
        seen: dict[str, str] = {}
        for delivery in self._about(record_id):
            if delivery.answered < 300:
                seen.setdefault(self._event_id(delivery), self._name(delivery.payload) or "?")
        return [(name, event_id) for event_id, name in seen.items()]

    def _await(self, driven: list[Driven]) -> None:
        """Until every expected event arrived (or the wait ran out), then a quiet moment in
        which a duplicate would show."""
        deadline = time.monotonic() + self.wait_s
        while time.monotonic() < deadline:
            if all(len(self._acknowledged(d.record_id)) >= len(d.expected) for d in driven):
                break
            time.sleep(0.05)
        time.sleep(QUIET_MIN_S)

    def _check_emitted(self, driven: list[Driven]) -> None:
        emitted = self.tallies["webhook_event_emitted"]
        order = self.tallies["webhook_order_per_record"]
        resource_of = {d.record_id: d.route.resource.name for d in driven}
        for item in driven:
            got = [name for name, _ in self._acknowledged(item.record_id)]
            evidence = item.exchanges
            facts = {"resource": item.route.resource.name, "id": item.record_id}
            for unit in item.route.units:
                event = unit.split(" on ", 1)[0]
                want, have = item.expected.count(event), got.count(event)
                if have < want:
                    emitted.fail(
                        NOT_DELIVERED.format(unit=unit, event=event, wait=self.wait_s, **facts),
                        evidence,
                    )
                elif have > want:
                    emitted.fail(
                        EMITTED_AGAIN.format(unit=unit, count=have, event=event, **facts),
                        evidence,
                    )
                else:
                    emitted.ran(unit=unit)
            if len(item.expected) > 1 and sorted(got) == sorted(item.expected):
                if got == item.expected:
                    order.ran()
                else:
                    order.fail(
                        OUT_OF_ORDER.format(got=got, expected=item.expected, **facts), evidence
                    )
        counts: dict[str, int] = {}
        for delivery in self.receiver.received:
            if delivery.answered < 300 and any(
                _mentions(delivery.payload, rid) for rid in resource_of
            ):
                key = self._event_id(delivery)
                counts[key] = counts.get(key, 0) + 1
        for event_id, count in counts.items():
            if count > 1:
                emitted.fail(DELIVERED_AGAIN.format(event_id=event_id, count=count), ())

    def _check_deliveries(self, received: list[Delivery]) -> None:
        payloads = self.tallies["webhook_payload_valid"]
        signed = self.tallies["webhook_signature_valid"]
        secret = self.receiver.secret
        for delivery in received:
            name = self._name(delivery.payload)
            event_id = self._event_id(delivery)
            if name is None:
                known = ", ".join(self.hooks.events)
                payloads.fail(UNNAMED.format(known=known, payload=str(delivery.payload)), ())
                continue
            problems = sorted(self.validators[name].iter_errors(delivery.payload), key=str)
            if problems:
                payloads.fail(
                    PAYLOAD_INVALID.format(
                        event=name,
                        event_id=event_id,
                        schema=self.hooks.events[name].schema_ref,
                        problem=problems[0].message,
                    ),
                    (),
                )
            else:
                payloads.ran()
            if secret is None:
                continue
            if not delivery.verified:
                problem = delivery.problem or ""
                signed.fail(
                    SIGNATURE_REFUSED.format(event=name, event_id=event_id, problem=problem), ()
                )
            elif self._verifies(
                secret, self._signature(delivery), delivery.body + b" ", delivery.at
            ):
                signed.fail(TAMPER_ACCEPTED.format(event=name, event_id=event_id), ())
            else:
                signed.ran()
        if secret is None:
            signed.skip(NO_SECRET, "--webhook-secret")

    def _check_retries(self, planned: list[Route]) -> None:
        """Fail the first deliveries of a new record's first event: it must come again until
        acknowledged, and not after."""
        retried = self.tallies["webhook_retried"]
        route = next((r for r in planned if r.transition is None), None)
        if route is None:
            return
        before = len(self.receiver.received)
        self.receiver.fail_next(FAILURES_BEFORE_SUCCESS)
        driven = self.drive(route)
        if driven is None:
            self.receiver.fail_next(0)
            return
        deadline = time.monotonic() + self.wait_s
        first: list[Delivery] = []
        while time.monotonic() < deadline:
            about = self._about(driven.record_id)
            first = (
                [d for d in about if self._event_id(d) == self._event_id(about[0])] if about else []
            )
            if any(d.answered < 300 for d in first):
                break
            time.sleep(0.05)
        self.receiver.fail_next(0)
        name = self._name(first[0].payload) if first else None
        facts = {"event": name, "event_id": self._event_id(first[0]) if first else None}
        if not first:
            retried.fail(NOTHING_ARRIVED.format(wait=self.wait_s), driven.exchanges)
            return
        acked = [n for n, d in enumerate(first) if d.answered < 300]
        if not acked:
            retried.fail(
                NOT_RETRIED.format(status=first[-1].answered, wait=self.wait_s, **facts),
                driven.exchanges,
            )
            return
        gaps = [b.at - a.at for a, b in itertools.pairwise(first)]
        time.sleep(max(QUIET_MIN_S, 2 * max(gaps, default=0.0)))
        acked_at = first[acked[0]].at
        again = [
            d
            for d in self.receiver.received[before:]
            if self._event_id(d) == facts["event_id"] and d.at > acked_at
        ]
        if again:
            after = again[0].at - acked_at
            retried.fail(NOT_STOPPED.format(after=after, **facts), driven.exchanges)
        else:
            retried.ran()

    # -- reading deliveries ---------------------------------------------------------------------

    def _name(self, payload: JSON) -> str | None:
        """The declared event a payload names, where its template puts `$event.type`."""
        for event in self.hooks.events.values():
            if at_path(payload, event.type_path) == event.name:
                return event.name
        return None

    def _event_id(self, delivery: Delivery) -> str:
        """The event's id, where its template puts `$event.id` (else the body itself)."""
        name = self._name(delivery.payload)
        path = self.hooks.events[name].id_path if name else None
        found = at_path(delivery.payload, path)
        return str(found) if found is not None else delivery.body.decode(errors="replace")

    def _verifies(self, secret: str, value: str, body: bytes, at: float) -> bool:
        try:
            signature.verify(secret, value, body, now=at, scheme=self.hooks.signature_scheme)
        except signature.SignatureError:
            return False
        return True

    def _signature(self, delivery: Delivery) -> str:
        wanted = self.hooks.signature_header.lower()
        return next((v for k, v in delivery.headers.items() if k.lower() == wanted), "")


def _json(exchange: Exchange) -> Any:
    """The answer's JSON body (an empty object when there is none)."""
    try:
        return json.loads(exchange.response_body or b"")
    except ValueError:
        return {}


def _record(body: Any, id_field: str) -> JSONObject | None:
    """The first object in a response body that carries the id field (the record)."""
    if isinstance(body, dict):
        if id_field in body:
            return body
        for value in body.values():
            found = _record(value, id_field)
            if found is not None:
                return found
    return None


def _mentions(payload: JSON, value: str) -> bool:
    if isinstance(payload, dict):
        return any(_mentions(item, value) for item in payload.values())
    if isinstance(payload, list):
        return any(_mentions(item, value) for item in payload)
    return bool(payload == value)
