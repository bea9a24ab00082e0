"""Deliberately broken variants of the mock: each breaks one rule a vendor could break.

A variant wraps the real mock in a small ASGI middleware (rewriting requests or responses) or
patches one engine function, and names the checks that must catch it. `VARIANTS` feeds the
mutation score test, which runs the whole suite against each one.

The other way round, `ALLOWED` are variants that make a choice the specs allow (the suite must
pass them), `VACUOUS` servers on which a requirement cannot be exercised (it must not pass),
and `MISCONFIGURED` runs that must stop before any requirement (exit 2).
"""

import contextlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote_to_bytes

from conformance.preflight import (
    ADMIN_NOT_ADMIN,
    ADMIN_OTHER_ACCOUNT,
    CONTROL_SILENT,
    NOT_SERVED,
    TOKEN_B_SAME_ACCOUNT,
    TOKEN_REFUSED,
)
from kycspec import signature as kyc_signature
from kycspec.loader import load_all
from mockserver import delivery as mock_delivery
from mockserver import engine as mock_engine
from mockserver import outbox as mock_outbox
from mockserver import store as mock_store
from mockserver.clock import MockClock
from mockserver.outbox import RetryPolicy
from mockserver.sandbox import Caller
from tests.conformance.broken import BrokenApp
from tests.conformance.hostile import EdgeServerError, Hang

ASGI = Callable[..., Any]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
Patch = tuple[Any, str, Any]


def _each_dict(node: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    if isinstance(node, dict):
        change(node)
        for value in node.values():
            _each_dict(value, change)
    elif isinstance(node, list):
        for item in node:
            _each_dict(item, change)
    return node


class RewriteResponses:
    """Rewrites every JSON response body of the APIs (not the control plane)."""

    def __init__(self, app: ASGI, change: Callable[[dict[str, Any]], None]):
        self.app = app
        self.change = change

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            with contextlib.suppress(ValueError):
                body = json.dumps(_each_dict(json.loads(body), self.change)).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


class RewriteFiles:
    """Rewrites every API answer of a file media type: `change` gets the body and gives the
    body and Content-Type sent instead (a server whose downloads are broken)."""

    def __init__(self, app: ASGI, media_type: str, change: Callable[[bytes], tuple[bytes, str]]):
        self.app = app
        self.media_type = media_type.encode()
        self.change = change

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = dict(start["headers"])
            if headers.get(b"content-type", b"").startswith(self.media_type):
                body, media_type = self.change(body)
                headers[b"content-type"] = media_type.encode()
                headers[b"content-length"] = str(len(body)).encode()
            await send({**start, "headers": list(headers.items())})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


def _as_json(body: bytes) -> tuple[bytes, str]:
    return json.dumps({"report": body.decode("latin-1")}).encode(), "application/json"


def _emptied(body: bytes) -> tuple[bytes, str]:
    return b"", "application/pdf"


class DropBodyField:
    """Drops one field of every JSON request body before the mock sees it (a server that
    ignores that input)."""

    def __init__(self, app: ASGI, name: str):
        self.app = app
        self.name = name

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        with contextlib.suppress(ValueError, AttributeError):
            parsed = json.loads(body)
            parsed.pop(self.name, None)
            body = json.dumps(parsed).encode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


class DropQuery:
    """Drops one query parameter before the mock sees it (a server ignoring it)."""

    def __init__(self, app: ASGI, name: str):
        self.app = app
        self.name = name.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            kept = [
                part
                for part in scope.get("query_string", b"").split(b"&")
                if part and part.split(b"=")[0] != self.name
            ]
            scope = {**scope, "query_string": b"&".join(kept)}
        await self.app(scope, receive, send)


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda node: node.pop(name, None) if "id" in node else None


def _stringify(name: str) -> Callable[[dict[str, Any]], None]:
    def change(node: dict[str, Any]) -> None:
        if isinstance(node.get(name), int):
            node[name] = str(node[name])

    return change


def _copy(source: str, into: str) -> Callable[[dict[str, Any]], None]:
    def change(node: dict[str, Any]) -> None:
        if source in node and into in node:
            node[into] = node[source]

    return change


def _always_more(node: dict[str, Any]) -> None:
    if "has_more" in node:
        node["has_more"] = True


def _no_delete(self: Any, record_id: str) -> Any:
    return self.get(record_id)  # answers as if deleted, keeps the record


def _account_as_actor(self: Caller) -> str:
    """`$auth.actor` as the account's UUID: every key of an account records the same actor."""
    return self.organization


FIXED_ACTOR = "00000000-0000-4000-8000-000000000000"
_transition = mock_engine.Engine._transition


class _FixedActor(Caller):
    @property
    def actor(self) -> str:
        return FIXED_ACTOR


def _transition_as_fixed_actor(self: Any, op: Any, request: Any, ctx: Any) -> Any:
    """A transition whose `$auth.actor` is one constant UUID, whoever calls."""
    caller = request.caller
    ctx.values["auth"] = _FixedActor(caller.token, caller.sandbox, caller.admin)
    return _transition(self, op, request, ctx)


@dataclass(frozen=True)
class Variant:
    """One mock variant: what it changes, for which API, and the checks it is about (that must
    fail, for a broken mock; that must pass, for an allowed choice).

    `layers` are the layers the run needs; `timeout` is the run's `--timeout` (seconds);
    `target` overrides options of the run's target; `app` are options of `create_app`.
    """

    name: str
    api: str
    caught_by: frozenset[str]
    wrap: Callable[[ASGI], ASGI] = lambda app: app
    patches: tuple[Patch, ...] = ()  # (object, attribute, replacement), set for the run
    target: dict[str, Any] = field(default_factory=dict)  # overrides of the run's target
    layers: tuple[str, ...] = ("schema", "lifecycle", "security")
    timeout: float = 10.0
    app: dict[str, Any] = field(default_factory=dict)  # `create_app` options of the variant
    exact: bool = False  # the run fails exactly `caught_by`, no other check


# Webhook variants retry in milliseconds, so a run sees retries (or their absence) at once.
FAST_WEBHOOKS = {
    "webhook_retry": RetryPolicy(base_delay_s=0.02, max_delay_s=0.1, max_attempts=5),
    "webhook_poll_s": 0.02,
}
_entered = mock_outbox.Outbox.entered
_record_attempt = mock_outbox.Outbox.record_attempt
_send = mock_delivery.DeliveryWorker._send


async def _send_twice(self: Any, *args: Any) -> None:
    await _send(self, *args)
    await _send(self, *args)  # the same event again, with no failure to cause it


def _never_acknowledged(self: Any, sandbox: str, delivery_id: str, attempt: Any, **kw: Any) -> Any:
    return _record_attempt(self, sandbox, delivery_id, {**attempt, "ok": False}, retry=True)


def _wrong_secret(secret: str, timestamp: int, body: bytes, **options: Any) -> str:
    return kyc_signature.sign(secret + "-rotated", timestamp, body, **options)


def _webhook(name: str, check: str, *patches: Patch) -> Variant:
    return Variant(
        name,
        "kontorion",
        frozenset({check}),
        patches=patches,
        layers=("webhooks",),
        app=FAST_WEBHOOKS,
        target={"webhook_wait_s": 3.0},
    )


WEBHOOK_VARIANTS = [
    _webhook(
        "webhooks never sent",
        "webhook_event_emitted",
        (mock_outbox.Outbox, "entered", lambda *args: None),
    ),
    _webhook(
        "webhook delivered twice without a failure",
        "webhook_event_emitted",
        (mock_delivery.DeliveryWorker, "_send", _send_twice),
    ),
    _webhook(
        "webhook signed with another secret",
        "webhook_signature_valid",
        (mock_delivery, "signature", SimpleNamespace(sign=_wrong_secret)),
    ),
    _webhook(
        "webhook payload breaks its schema",
        "webhook_payload_valid",
        (
            mock_outbox.Outbox,
            "payload",
            lambda self, event, ctx: json.dumps({**event.payload(ctx), "undeclared": True}),
        ),
    ),
    _webhook(
        "webhook retries never stop",
        "webhook_retried",
        (mock_outbox.Outbox, "record_attempt", _never_acknowledged),
    ),
    _webhook(
        "webhook never retried",
        "webhook_retried",
        (mock_delivery, "retried", lambda status: False),
    ),
]


def _mode(mode: str) -> Callable[[ASGI], ASGI]:
    """A `BrokenApp` breakage (see tests/conformance/broken.py) as a wrapper."""

    def wrap(app: ASGI) -> ASGI:
        broken = BrokenApp(app)
        broken.mode = mode
        return broken

    return wrap


def _schema_or_security(name: str, api: str, mode: str, *checks: str) -> Variant:
    return Variant(name, api, frozenset(checks), _mode(mode))


_check_transition = mock_engine.check_transition


_check_parent = mock_engine.Engine._check_parent


def _parent_existence_ignored(self: Any, op: Any, caller: Any, ctx: Any) -> None:
    """A child asked for under a parent the caller does not have goes ahead anyway."""
    with contextlib.suppress(mock_engine.errors.NotFound):
        _check_parent(self, op, caller, ctx)


def _parent_state_ignored(self: Any, op: Any, caller: Any, ctx: Any) -> None:
    """The parent must exist, but its state never stops a child write."""
    _check_parent(self, replace(op, role="read"), caller, ctx)


def _refused_as_400(*args: Any) -> Any:
    """The right refusal with the wrong status: a 400 where the spec says 409."""
    try:
        return _check_transition(*args)
    except mock_engine.errors.InvalidTransition as exc:
        raise mock_engine.errors.InvalidRequest(str(exc)) from exc


VARIANTS = [
    _schema_or_security("GETs answer 418", "finx", "teapot", "status_code_conformance"),
    _schema_or_security(
        "wrong content type", "finx", "wrong_content_type", "content_type_conformance"
    ),
    _schema_or_security(
        "bodies break the schema", "kontorion", "bad_body", "response_schema_conformance"
    ),
    _schema_or_security(
        "invalid requests accepted", "finx", "accept_invalid", "negative_data_rejection"
    ),
    _schema_or_security(
        "valid creates refused", "kontorion", "refuse_valid", "positive_data_acceptance"
    ),
    _schema_or_security("500 on a limit", "finx", "server_error", "not_a_server_error"),
    _schema_or_security("delete deletes nothing", "finx", "skip_delete", "use_after_free"),
    _schema_or_security(
        "created record unreadable",
        "kontorion",
        "lose_records",
        "ensure_resource_availability",
    ),
    _schema_or_security(
        "missing token accepted",
        "finx",
        "no_auth",
        "missing_token_refused",
        "invalid_token_refused",
    ),
    _schema_or_security("records leak across tokens", "finx", "leak", "accounts_isolated"),
    _schema_or_security("everyone is admin", "kontorion", "no_admin", "admin_only_enforced"),
    _schema_or_security(
        "required headers ignored",
        "finhub",
        "ignore_headers",
        "required_headers_enforced",
        "partitions_isolated",
    ),
    Variant(
        "illegal transitions allowed",
        "finx",
        frozenset({"forbidden_transitions_refused", "terminal_states_final"}),
        patches=((mock_engine, "check_transition", lambda *args, **kwargs: None),),
    ),
    Variant(
        "undeclared transitions refused with 400",
        "finx",
        frozenset({"forbidden_transitions_refused", "terminal_states_final"}),
        patches=((mock_engine, "check_transition", _refused_as_400),),
    ),
    Variant(
        "limit ignored", "finx", frozenset({"limit_honoured"}), lambda a: DropQuery(a, "limit")
    ),
    Variant(
        "required field dropped",
        "finx",
        frozenset({"read_after_write"}),
        lambda a: RewriteResponses(a, _drop("document_type")),
    ),
    Variant(
        "timestamp of the wrong type",
        "finx",
        frozenset({"server_fields_format"}),
        lambda a: RewriteResponses(a, _stringify("created_at")),
    ),
    Variant(
        "deleted record still readable",
        "finx",
        frozenset({"deleted_records_gone"}),
        patches=((mock_store.MemoryCollection, "delete", _no_delete),),
    ),
    Variant(
        "has_more always true",
        "finx",
        frozenset({"pagination_complete"}),
        lambda a: RewriteResponses(a, _always_more),
    ),
    Variant(
        "cursor ignored (page repeated)",
        "kontorion",
        frozenset({"pagination_complete"}),
        lambda a: DropQuery(a, "cursor"),
    ),
    Variant(
        "status filter ignored",
        "finx",
        frozenset({"list_filters_exact"}),
        lambda a: DropQuery(a, "verification_status"),
    ),
    Variant(
        "status filter ignored (kontorion)",
        "kontorion",
        frozenset({"list_filters_exact"}),
        lambda a: DropQuery(a, "status"),
    ),
    Variant(
        "actor_id is the account's, not the API key's",
        "kontorion",
        frozenset({"read_after_write"}),
        patches=((Caller, "actor", property(_account_as_actor)),),
    ),
    Variant(
        "the override writes a fixed actor id",
        "kontorion",
        frozenset({"read_after_write", "allowed_transitions_accepted"}),
        patches=((mock_engine.Engine, "_transition", _transition_as_fixed_actor),),
    ),
    Variant(
        "updated_at never moves",
        "finx",
        frozenset({"timestamps_consistent"}),
        lambda a: RewriteResponses(a, _copy("created_at", "updated_at")),
    ),
    Variant(
        "created_at follows updated_at",
        "kontorion",
        frozenset({"timestamps_consistent"}),
        lambda a: RewriteResponses(a, _copy("updated_at", "created_at")),
    ),
    Variant(
        "expiry never happens",
        "kontorion",
        frozenset({"clock_expiry"}),
        patches=((mock_engine, "run_clock", lambda *args: []),),
    ),
    Variant(
        "guard ignored",
        "finhub",
        frozenset({"guards_enforced"}),
        patches=(
            (
                mock_engine,
                "check_transition",
                lambda resource, source, target, op, ctx: _unguarded(resource, source, target, op),
            ),
        ),
    ),
    Variant(
        "DELETE never answers",
        "finx",
        frozenset({"not_a_server_error", "use_after_free", "deleted_records_gone"}),
        lambda app: Hang(app, "DELETE"),
        timeout=2.0,
    ),
    Variant(
        "500 on an unusual media type",
        "kontorion",
        frozenset({"edge_media_types"}),
        EdgeServerError,
        layers=("robustness",),
    ),
    Variant(
        "PDF endpoint answers JSON",
        "onboardly",
        frozenset({"content_type_conformance"}),
        lambda a: RewriteFiles(a, "application/pdf", _as_json),
        layers=("schema",),
        app={"specs_dir": EXAMPLES},
    ),
    Variant(
        "PDF endpoint answers an empty body",
        "onboardly",
        frozenset({"response_schema_conformance"}),
        lambda a: RewriteFiles(a, "application/pdf", _emptied),
        layers=("schema",),
        app={"specs_dir": EXAMPLES},
    ),
    Variant(
        "child under a missing or other account's parent",
        "onboardly",
        frozenset({"parent_required"}),
        exact=True,
        patches=((mock_engine.Engine, "_check_parent", _parent_existence_ignored),),
        app={"specs_dir": EXAMPLES},
    ),
    Variant(
        "child writes whatever the parent's state",
        "onboardly",
        frozenset({"parent_state_gates_writes"}),
        exact=True,
        patches=((mock_engine.Engine, "_check_parent", _parent_state_ignored),),
        app={"specs_dir": EXAMPLES},
    ),
    Variant(
        "initial state ignores the input",
        "onboardly",
        frozenset({"initial_state_by_input"}),
        lambda a: DropBodyField(a, "applicant_provides_data"),
        layers=("lifecycle",),
        app={"specs_dir": EXAMPLES},
    ),
    *WEBHOOK_VARIANTS,
]


def _unguarded(resource: Any, source: str, target: str, operation: str) -> Any:
    transition = resource.lifecycle.find(source, target, operation)
    if transition is None:
        raise mock_engine.errors.InvalidTransition(f"{source} -> {target} refused")
    return transition


# -- choices the specs allow: the suite must pass these ---------------------------------------


class IgnoreUnknownQuery:
    """Drops every query parameter no spec declares before the mock sees it (a server that
    ignores unknown parameters instead of refusing them, as many do)."""

    def __init__(self, app: ASGI):
        self.app = app
        self.declared = {
            p["name"].encode()
            for spec in load_all().values()
            for op in spec.operations.values()
            for p in op.parameters
            if p.get("in") == "query"
        }

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/__mock"):
            kept = [
                part
                for part in scope.get("query_string", b"").split(b"&")
                if part and unquote_to_bytes(part.split(b"=")[0]) in self.declared
            ]
            scope = {**scope, "query_string": b"&".join(kept)}
        await self.app(scope, receive, send)


_save = mock_engine.Engine._save
UPDATE_FIELDS = ("updated_at", "updatedAt")


def _save_keeping_time_when_unchanged(
    self: Any,
    op: Any,
    collection: Any,
    record: dict[str, Any],
    ctx: Any,
    shown: dict[str, Any] | None = None,
    **options: Any,
) -> Any:
    """A write that changes nothing keeps the stored update time, in the answer and the store."""
    stored = collection.get(record[op.resource.id_field])
    if stored is not None:
        written = dict(record)
        self._finish(op.resource, written, ctx)
        names = [name for name in UPDATE_FIELDS if name in written]
        rest = {k: v for k, v in written.items() if k not in names}
        if names and rest == {k: v for k, v in stored.items() if k not in names}:
            record = {**written, **{name: stored[name] for name in names}}
            response = self._respond(op, ctx, record={**record, **(shown or {})})
            return replace(response, commit=lambda: None)
    return _save(self, op, collection, record, ctx, shown, **options)


# Behind the default --clock-skew of 1 s; with whole-second timestamps, most writes on the
# slow replica are stamped a second before the last one the fast replica stamped.
REPLICA_SKEW = timedelta(milliseconds=900)
_now = MockClock.now
_turns = itertools.count()


def _replica_now(self: MockClock) -> datetime:
    """Every other request lands on a replica whose clock is REPLICA_SKEW behind."""
    moment = _now(self)
    return moment - REPLICA_SKEW if next(_turns) % 2 else moment


ALLOWED = [
    Variant(
        "unknown query parameters ignored",
        "finx",
        frozenset({"negative_data_rejection"}),
        IgnoreUnknownQuery,
    ),
    Variant(
        "a write that changes nothing keeps updated_at",
        "finx",
        frozenset({"timestamps_consistent"}),
        patches=((mock_engine.Engine, "_save", _save_keeping_time_when_unchanged),),
    ),
    Variant(
        "two replicas, clocks 900 ms apart",
        "kontorion",
        frozenset({"timestamps_consistent"}),
        patches=((MockClock, "now", _replica_now),),
    ),
]

# -- servers on which a requirement cannot be exercised: it must not pass --------------------

VACUOUS = [
    Variant(
        "no guards, no magic values",
        "finhub",
        frozenset({"guards_enforced"}),
        patches=(
            (
                mock_engine,
                "check_transition",
                lambda resource, source, target, op, ctx: _unguarded(resource, source, target, op),
            ),
        ),
        target={"magic": False},
    ),
    Variant(
        "status filter ignored, every record in one status",
        "kontorion",
        frozenset({"list_filters_exact"}),
        lambda a: DropQuery(a, "status"),
        # Without magic values, the admin override or the clock, every record stays pending:
        # no list can show whether the status filter is applied.
        target={"magic": False, "admin_token": None, "control_url": None},
        layers=("lifecycle",),
    ),
]

# -- runs that must stop before any requirement (exit 2), with the preflight's message --------

MISCONFIGURED = [
    ("wrong control URL", "finx", {"control_url": "/finx"}, CONTROL_SILENT),
    ("base URL without the API's prefix", "finx", {"base_url": ""}, NOT_SERVED),
    ("refused token", "kontorion", {"token": "refused-key"}, TOKEN_REFUSED),
    ("user key as admin key", "kontorion", {"admin_token": "test_conf"}, ADMIN_NOT_ADMIN),
    ("admin key of another account", "finhub", {"admin_token": "admin_b"}, ADMIN_OTHER_ACCOUNT),
    ("second key in the same account", "finx", {"token_b": "admin_conf"}, TOKEN_B_SAME_ACCOUNT),
]
