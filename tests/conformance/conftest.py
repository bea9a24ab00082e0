"""Shared fixtures: the mock served over HTTP, and a deliberately broken copy of it.

The layers talk HTTP (schemathesis through requests, the others through httpx), so both apps
run under uvicorn on free local ports, once per test session. `broken` wraps the mock in
`BrokenApp`; a test picks the breakage with `broken.app.mode` and the fixture resets it.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.settings import PROFILES, Profile, Settings
from conformance.target import Target
from kycspec.loader import load_all
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.broken import BrokenApp
from tests.conformance.mutants import EXAMPLES, FAST_WEBHOOKS

BASE_PATHS = {"finx": "/finx", "kontorion": "/kontorion", "finhub": "/finhub/api/v2.1"}
# The example specs' APIs (examples/specs), served by an app made with `specs_dir=EXAMPLES`.
EXAMPLE_BASE_PATHS = {"onboardly": "/onboardly/v3.6", "inquire": "/inquire/v1"}
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
        specs = {**load_all(), **load_all(EXAMPLES)}
        base_path = {**BASE_PATHS, **EXAMPLE_BASE_PATHS}[api]
        return Target(specs[api], self.url + base_path, **options)


@pytest.fixture(scope="session")
def serve() -> Iterator[Any]:
    """Start apps under uvicorn on 127.0.0.1; every one is shut down at the end."""
    with ExitStack() as stack:

        def start(app: Any) -> Served:
            return Served(stack.enter_context(serve_in_thread(app)), app)

        yield start


@pytest.fixture(scope="session")
def mock(serve: Any) -> Served:
    """The mock, every API, responses validated against the specs (webhook retries in
    milliseconds)."""
    served: Served = serve(create_app(validate_responses=True, **FAST_WEBHOOKS))
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
