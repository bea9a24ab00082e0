"""Shared fixtures: the mock served over HTTP, and a deliberately broken copy of it.

The layers talk HTTP (schemathesis through requests, the others through httpx), so both apps
run under uvicorn on free local ports, once per test session. `broken` wraps the mock in
`BrokenApp`; a test picks the breakage with `broken.app.mode` and the fixture resets it.
"""

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from conformance.settings import PROFILES, Profile, Settings
from conformance.target import Target
from kycspec.loader import load_all
from tests.conformance.broken import BrokenApp

with warnings.catch_warnings():
    # connexion imports names jsonschema deprecates; not ours to fix (see tests/mockserver).
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from mockserver.app import create_app

STARTUP_TIMEOUT_S = 10.0
BASE_PATHS = {"finx": "/finx", "kontorion": "/kontorion", "finhub": "/finhub/api/v2.1"}
SEED = 1
# Small enough to keep the broken-app tests quick, big enough to hit every check.
QUICK = Profile("quick", ("schema", "security"), 4, 0, 0)


@dataclass(frozen=True)
class Served:
    """A running app: its URL and the app object (to switch a breakage on)."""

    url: str
    app: Any

    def target(self, api: str, **overrides: Any) -> Target:
        options: dict[str, Any] = {
            "token": "test_conf",
            "token_b": "test_other",
            "admin_token": "admin_conf",
            "control_url": f"{self.url}/__mock",
            "magic": True,
            "timeout": 10.0,
        }
        options.update(overrides)
        return Target(load_all()[api], self.url + BASE_PATHS[api], **options)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def serve() -> Iterator[Any]:
    """Start apps under uvicorn on 127.0.0.1; every one is shut down at the end."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> Served:
        port = _free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="error", access_log=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("a test server did not start")
            time.sleep(0.01)
        return Served(f"http://127.0.0.1:{port}", app)

    try:
        yield start
    finally:
        for server, _ in servers:
            server.should_exit = True
        for _, thread in servers:
            thread.join(timeout=STARTUP_TIMEOUT_S)


@pytest.fixture(scope="session")
def mock(serve: Any) -> Served:
    """The mock, every API, responses validated against the specs."""
    served: Served = serve(create_app(validate_responses=True))
    return served


@pytest.fixture(scope="session")
def broken_server(serve: Any) -> Served:
    served: Served = serve(BrokenApp(create_app()))
    return served


@pytest.fixture
def broken(broken_server: Served) -> Iterator[Served]:
    """The broken mock; set `broken.app.mode` in the test (reset afterwards)."""
    try:
        yield broken_server
    finally:
        broken_server.app.mode = None


def quick_settings(profile: Profile = QUICK) -> Settings:
    return Settings(profile, SEED, budget_s=120.0)


def core_settings() -> Settings:
    return Settings(PROFILES["core"], SEED, budget_s=120.0)
