"""The control plane under `/__mock/` (described by control_plane.yaml)."""

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import connexion
import yaml
from connexion.lifecycle import ConnexionResponse
from connexion.resolver import Resolution, Resolver

from kycspec.expressions import compile_value, parse_time
from kycspec.model import ErrorFormat
from mockserver import errors
from mockserver.api import allowed_methods, json_response, register_error_handlers
from mockserver.clock import MockClock
from mockserver.fixtures import FixtureError, parse_fixtures
from mockserver.server import MockServer
from mockserver.store import LoggedRequest

CONTROL_SPEC = Path(__file__).with_name("control_plane.yaml")
CONTROL_BASE_PATH = "/__mock"  # the control plane spec's server URL
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
        moment, frozen = parse_time(body["now"]), bool(body.get("frozen", False))
        clock = self.server.store.update_clock(sandbox, lambda c: c.set(moment, freeze=frozen))
        return _clock_view(sandbox, clock)

    def reset_clock(self, sandbox: str) -> Any:
        return _clock_view(sandbox, self.server.store.update_clock(sandbox, MockClock.reset))

    def advance_clock(self, sandbox: str, body: Any) -> Any:
        delta = timedelta(seconds=body["seconds"])
        clock = self.server.store.update_clock(sandbox, lambda c: c.advance(delta))
        return _clock_view(sandbox, clock)

    def list_requests(self, limit: int, sandbox: str | None = None) -> Any:
        entries = self.server.store.requests(sandbox, limit)
        return {"data": [_logged(entry) for entry in entries]}

    def clear_requests(self) -> ConnexionResponse:
        self.server.store.clear_log()
        return json_response(204, None)


def _clock_view(sandbox: str, clock: MockClock) -> dict[str, Any]:
    return {
        "sandbox": sandbox,
        "now": clock.now().isoformat(),
        "offset_seconds": clock.offset.total_seconds(),
        "frozen": clock.frozen_at is not None,
    }


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
            try:
                result = method(**kwargs)
            except FixtureError as exc:
                raise errors.InvalidRequest(str(exc)) from exc
            return result if isinstance(result, ConnexionResponse) else json_response(200, result)

        return Resolution(handle, operation.operation_id)


def create_control_app(
    server: MockServer, links: list[dict[str, str]], *, validate_responses: bool
) -> connexion.AsyncApp:
    """The control plane as a connexion app at `/__mock`."""
    document = yaml.safe_load(CONTROL_SPEC.read_text(encoding="utf-8"))
    app = connexion.AsyncApp(__name__)
    app.add_api(
        document,
        resolver=_MethodResolver(ControlPlane(server, links)),
        strict_validation=True,
        validate_responses=validate_responses,
    )
    register_error_handlers(app, PROBLEM, allowed_methods(document, CONTROL_BASE_PATH))
    return app
