"""The control plane under `/__mock/` (described by control_plane.yaml)."""

import hmac
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import connexion
import orjson
import yaml
from connexion.lifecycle import ConnexionResponse
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolution, Resolver
from connexion.security import BearerSecurityHandler

from kycspec.expressions import compile_value, format_time, parse_time
from kycspec.model import ErrorFormat
from mockserver import errors
from mockserver.api import allowed_methods, json_response, register_error_handlers
from mockserver.clock import EARLIEST, LATEST, MockClock, in_range
from mockserver.compiled import middlewares
from mockserver.fixtures import FixtureError, parse_fixtures
from mockserver.outbox import SubscriptionGone, check_webhook_url
from mockserver.server import MockServer
from mockserver.store import LoggedRequest
from mockserver.validation import SingleValueURIParser, validator_map

CONTROL_SPEC = resources.files("mockserver") / "control_plane.yaml"
CONTROL_BASE_PATH = "/__mock"  # the control plane spec's server URL
UNKNOWN_API = "no API named {api!r} ({known})"
INVALID_FIELD = "body field {field!r}: {problem}"
NO_EVENTS = "at least one event is needed (leave events out to receive every event)"
SUBSCRIPTION_GONE = (
    "delivery {id!r} cannot be sent again: its subscription {subscription!r} was deleted"
)
UNKNOWN_EVENT = "no API declares the event {event!r}; declared: {known}"
UNKNOWN_API = "no API {api!r} is served; served: {known}"
NO_SUBSCRIPTION = "sandbox {sandbox!r} has no subscription {id!r}"
NO_DELIVERY = "sandbox {sandbox!r} has no delivery {id!r}"
PROBLEM = ErrorFormat(
    media_type="application/problem+json",
    body=compile_value(
        {
            "type": "about:blank",
            "title": "$title",
            "status": "$status",
            "detail": "$detail",
            "code": "$code",
        }
    ),
    codes={},
)


class ControlPlane:
    """The control plane's operations, one method per operationId."""

    def __init__(self, server: MockServer, links: list[dict[str, str]]):
        self.server = server
        self.links = links

    def health(self) -> ConnexionResponse:
        served = [link["name"] for link in self.links]
        if not self.server.ready:
            return json_response(503, {"status": "starting", "apis": served})
        return json_response(200, {"status": "ready", "apis": served})

    def status(self) -> Any:
        policy = self.server.policy
        tokens = {
            f"{policy.user_prefix}<name>": "sandbox <name>",
            f"{policy.admin_prefix}<name>": "sandbox <name>, with admin operations",
        }
        for api in self.server.specs:
            for token, alias in self.server.specs[api].tokens.items():
                role = ", admin" if alias.admin else ""
                tokens[token] = f"sandbox {alias.sandbox}{role} ({api} docs placeholder)"
        return {"apis": self.links, "sandboxes": self.server.store.sandboxes(), "tokens": tokens}

    def introspect(self, body: Any) -> Any:
        """RFC 7662 section 2.2: `active`, and for an active token its sandbox and admin right."""
        api = body.get("api")
        if api is not None and api not in self.server.specs:
            raise errors.InvalidRequest(
                UNKNOWN_API.format(api=api, known=", ".join(self.server.specs))
            )
        policy = self.server.policy_for(api) if api else self.server.policy_for_all()
        caller = policy.resolve(str(body["token"]))
        if caller is None:
            return {"active": False}
        return {"active": True, "sandbox": caller.sandbox, "admin": caller.admin}

    def reset_all(self) -> ConnexionResponse:
        self.server.reset()
        return json_response(204, None)

    def reset_sandbox(self, sandbox: str) -> ConnexionResponse:
        self.server.reset(sandbox)
        return json_response(204, None)

    def load_fixtures(self, body: Any) -> Any:
        return {"records": [r.to_json() for r in self.server.load(_records(body))]}

    def export_snapshot(self, sandbox: str | None = None) -> Any:
        return {"records": [r.to_json() for r in self.server.export(sandbox)]}

    def import_snapshot(self, body: Any) -> Any:
        return {"records": [r.to_json() for r in self.server.replace(_records(body))]}

    def get_clock(self, sandbox: str) -> Any:
        return _clock_view(sandbox, self.server.store.clock(sandbox))

    def set_clock(self, sandbox: str, body: Any) -> Any:
        try:
            moment = parse_time(body["now"])
        except ValueError:
            raise errors.InvalidRequest(
                errors.TIME_INVALID.format(name="now", value=errors.shown(body["now"]))
            ) from None
        _check_clock(moment, "now")
        frozen = bool(body.get("frozen", False))
        clock = self.server.store.update_clock(sandbox, lambda c: c.set(moment, freeze=frozen))
        self.server.sweep(sandbox)
        return _clock_view(sandbox, clock)

    def reset_clock(self, sandbox: str) -> Any:
        return _clock_view(sandbox, self.server.store.update_clock(sandbox, MockClock.reset))

    def advance_clock(self, sandbox: str, body: Any) -> Any:
        delta = timedelta(seconds=body["seconds"])  # at most 100 years (control_plane.yaml)
        _check_clock(self.server.store.clock(sandbox).now() + delta, "seconds")
        clock = self.server.store.update_clock(sandbox, lambda c: c.advance(delta))
        self.server.sweep(sandbox)  # what the move made due fires now, webhooks included
        return _clock_view(sandbox, clock)

    def list_requests(self, limit: int, sandbox: str | None = None) -> Any:
        entries = self.server.store.requests(sandbox, limit)
        return {"data": [_logged(entry) for entry in entries]}

    def clear_requests(self) -> ConnexionResponse:
        self.server.store.clear_log()
        return json_response(204, None)

    def get_webhooks(self, sandbox: str) -> Any:
        outbox = self.server.outbox
        apis = {
            name: {
                "signature_header": spec.webhooks.signature_header,
                "events": list(spec.webhooks.events),
            }
            for name, spec in self.server.specs.items()
            if spec.webhooks is not None
        }
        return {
            "sandbox": sandbox,
            "secret": outbox.secret(sandbox),
            "signature": SIGNATURE_SCHEME,
            "apis": apis,
            "subscriptions": outbox.subscriptions(sandbox),
        }

    def subscribe(self, sandbox: str, body: Any) -> ConnexionResponse:
        try:
            url = check_webhook_url(str(body["url"]))
        except ValueError as exc:
            raise errors.InvalidRequest(INVALID_FIELD.format(field="url", problem=exc)) from None
        events = body.get("events")
        if events == []:  # as Stripe requires enabled_events to name at least one
            raise errors.InvalidRequest(INVALID_FIELD.format(field="events", problem=NO_EVENTS))
        known = [
            e for spec in self.server.specs.values() if spec.webhooks for e in spec.webhooks.events
        ]
        for event in events or ():
            if event not in known:
                raise errors.InvalidRequest(
                    UNKNOWN_EVENT.format(event=event, known=", ".join(known) or "none")
                )
        apis = body.get("apis")
        for api in apis or ():
            if api not in self.server.specs:
                known_apis = ", ".join(self.server.specs)
                raise errors.InvalidRequest(UNKNOWN_API.format(api=api, known=known_apis))
        return json_response(201, self.server.outbox.subscribe(sandbox, url, events, apis))

    def unsubscribe(self, sandbox: str, subscription: str) -> ConnexionResponse:
        if not self.server.outbox.unsubscribe(sandbox, subscription):
            raise errors.NotFound(NO_SUBSCRIPTION.format(sandbox=sandbox, id=subscription))
        return json_response(204, None)

    def list_deliveries(self, sandbox: str, limit: int) -> Any:
        found = self.server.outbox.deliveries(sandbox, limit)
        return {"data": [_delivery_view(delivery) for delivery in found]}

    def get_delivery(self, sandbox: str, delivery: str) -> Any:
        found = self.server.outbox.delivery(sandbox, delivery)
        if found is None:
            raise errors.NotFound(NO_DELIVERY.format(sandbox=sandbox, id=delivery))
        return _delivery_view(found)

    def redeliver(self, sandbox: str, delivery: str) -> ConnexionResponse:
        try:
            found = self.server.outbox.redeliver(sandbox, delivery)
        except SubscriptionGone as gone:
            detail = SUBSCRIPTION_GONE.format(id=delivery, subscription=gone.args[0])
            raise errors.error_for(410, detail) from None
        if found is None:
            raise errors.NotFound(NO_DELIVERY.format(sandbox=sandbox, id=delivery))
        return json_response(202, _delivery_view(found))


SIGNATURE_SCHEME = "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' keyed with the secret>"
_INTERNAL_DELIVERY_FIELDS = ("body", "lease_until", "order_key", "last_status", "failures")


def _delivery_view(delivery: dict[str, Any]) -> dict[str, Any]:
    """A delivery as the control plane shows it: the payload as JSON, times in RFC 3339."""
    shown = {k: v for k, v in delivery.items() if k not in _INTERNAL_DELIVERY_FIELDS}
    due = delivery["next_attempt_at"]
    shown["next_attempt_at"] = (
        None if due is None else datetime.fromtimestamp(due, UTC).isoformat(timespec="milliseconds")
    )
    shown["payload"] = orjson.loads(delivery["body"])
    return shown


def _clock_view(sandbox: str, clock: MockClock) -> dict[str, Any]:
    return {
        "sandbox": sandbox,
        "now": clock.now().isoformat(),
        "offset_seconds": clock.offset.total_seconds(),
        "frozen": clock.frozen_at is not None,
    }


def _check_clock(moment: datetime, name: str) -> None:
    if not in_range(moment):
        raise errors.InvalidRequest(
            errors.CLOCK_OUT_OF_RANGE.format(
                earliest=format_time(EARLIEST, "rfc3339"),
                latest=format_time(LATEST, "rfc3339"),
                name=name,
            )
        )


def _logged(entry: LoggedRequest) -> dict[str, Any]:
    at = datetime.fromtimestamp(entry.at, UTC).isoformat(timespec="milliseconds")
    return {**asdict(entry), "at": at}


def _records(body: Any) -> list[Any]:
    try:
        return parse_fixtures(body)
    except FixtureError as exc:
        raise errors.InvalidRequest(str(exc)) from exc


class _MethodResolver(Resolver):
    def __init__(self, target: ControlPlane):
        super().__init__()
        self.target = target

    def resolve(self, operation: Any) -> Resolution:
        method: Callable[..., Any] = getattr(self.target, operation.operation_id)

        async def handle(**kwargs: Any) -> ConnexionResponse:
            kwargs.pop("token_info", None)
            kwargs.pop("user", None)
            try:
                result = method(**kwargs)
            except FixtureError as exc:
                raise errors.InvalidRequest(str(exc)) from exc
            return result if isinstance(result, ConnexionResponse) else json_response(200, result)

        return Resolution(handle, operation.operation_id)


def control_bearer(token: str) -> type[BearerSecurityHandler]:
    """A connexion bearer handler that accepts exactly `token` (compared in constant time)."""
    expected = token.encode()

    def token_info(presented: str) -> dict[str, Any] | None:
        return {"sub": "control"} if hmac.compare_digest(presented.encode(), expected) else None

    class ControlBearerHandler(BearerSecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            return token_info

    return ControlBearerHandler


def create_control_app(
    server: MockServer,
    links: list[dict[str, str]],
    *,
    validate_responses: bool,
    token: str | None = None,
    slow_path: bool = False,
) -> connexion.AsyncApp:
    """The control plane as a connexion app at `/__mock`; with `token`, its operations (all
    but the health check) require `Authorization: Bearer <token>`; `slow_path` as for
    `mockserver.api.create_api_app`."""
    document = yaml.safe_load(CONTROL_SPEC.read_text(encoding="utf-8"))
    security_map = {}
    if token:
        document["security"] = [{"controlToken": []}]
        security_map["bearer"] = control_bearer(token)
    app = connexion.AsyncApp(
        __name__,
        security_map=security_map,
        middlewares=middlewares(validate_responses=validate_responses, slow_path=slow_path),
    )
    title = document["info"]["title"]
    app.add_api(
        document,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_template_arguments={"title": title}),
        resolver=_MethodResolver(ControlPlane(server, links)),
        strict_validation=True,
        validator_map=validator_map(),
        uri_parser_class=SingleValueURIParser,
        validate_responses=validate_responses,
    )
    register_error_handlers(app, PROBLEM, allowed_methods(document, CONTROL_BASE_PATH))
    return app
