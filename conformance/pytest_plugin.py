"""A pytest entry point, so a team can gate its own test run on conformance.

Installed as the `conformance` pytest plugin (`[project.entry-points.pytest11]`). Usage::

    def test_our_staging_server_conforms(conformance_run):
        outcome = conformance_run(
            api="finhub",
            base_url="https://staging.example/api/v2.1",
            token=os.environ["FINHUB_TOKEN"],
            admin_token=os.environ["FINHUB_ADMIN_TOKEN"],
            seed=1234,
        )
        assert_conformant(outcome)  # from conformance.pytest_plugin

Outside pytest fixtures, call `run_conformance(...)` directly.

The fixture only builds runs; nothing happens unless a test calls it, so loading the plugin costs
an import, not a run. Heavy modules are imported on first use.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.results import Result, is_blocking

NOT_CONFORMANT = "{api} at {base_url} is not conformant (seed {seed}):"
NOTHING_EXERCISED = "  no MUST requirement was exercised, so there is no verdict to give"


@dataclass(frozen=True)
class Outcome:
    """A finished run: its results, and whether it reached the server at all."""

    api: str
    base_url: str
    seed: int
    results: tuple[Result, ...]
    error: str | None
    require_all: bool = False

    @property
    def conformant(self) -> bool:
        from conformance.runner import is_conformant  # noqa: PLC0415

        return self.error is None and is_conformant(self.results, require_all=self.require_all)

    def failures(self) -> list[Result]:
        return [r for r in self.results if is_blocking(r, require_all=self.require_all)]


def run_conformance(
    *,
    api: str,
    base_url: str,
    token: str,
    token_b: str | None = None,
    admin_token: str | None = None,
    control_url: str | None = None,
    control_token: str | None = None,
    magic: bool = False,
    profile: str = "core",
    seed: int = 0,
    budget: float = 600.0,
    timeout: float = 10.0,
    tenant: str = "conformance",
    specs_dir: str | Path | None = None,
    sandbox: str | None = None,
    require_all: bool = False,
    clock_skew: float = 1.0,
    webhook_receiver: str | None = None,
    webhook_secret: str | None = None,
    webhook_wait: float = 15.0,
) -> Outcome:
    """Run the suite against a server (no console output) and return its outcome.

    `specs_dir` is a directory of specs to take `api` from (default: the specs that ship with
    the package).
    """
    from conformance.events import Event, RunFinished  # noqa: PLC0415
    from conformance.runner import run  # noqa: PLC0415
    from conformance.settings import PROFILES, Settings  # noqa: PLC0415
    from conformance.target import Target  # noqa: PLC0415
    from kycspec.loader import SPECS_DIR, load_all  # noqa: PLC0415

    spec = load_all(Path(specs_dir) if specs_dir else SPECS_DIR)[api]
    target = Target(
        spec,
        base_url,
        token,
        token_b,
        admin_token,
        control_url,
        magic,
        timeout,
        tenant,
        control_token=control_token,
        sandbox=sandbox,
        webhook_receiver=webhook_receiver,
        webhook_secret=webhook_secret,
        webhook_wait_s=webhook_wait,
    )
    errors: list[str] = []

    def emit(event: Event) -> None:
        if isinstance(event, RunFinished) and event.error:
            errors.append(event.error)

    settings = Settings(
        PROFILES[profile], seed, budget, require_all=require_all, clock_skew_s=clock_skew
    )
    results = run(target, settings, emit)
    error = errors[0] if errors else None
    return Outcome(api, base_url, seed, tuple(results), error, require_all)


def failure_report(outcome: Outcome) -> str:
    """A readable account of why a run is not conformant: each failure with its curl sequence."""
    lines = [NOT_CONFORMANT.format(api=outcome.api, base_url=outcome.base_url, seed=outcome.seed)]
    if outcome.error:
        lines.append(f"  could not run: {outcome.error}")
    elif not outcome.failures():
        lines.append(NOTHING_EXERCISED)
    for result in outcome.failures():
        r = result.requirement
        lines.append(f"- {r.id} ({r.level}) {result.verdict.value.upper()}: {r.statement}")
        lines += [f"    {line}" for line in result.message.splitlines()]
        lines += [f"    $ {exchange.as_curl()}" for exchange in result.exchanges]
    return "\n".join(lines)


def assert_conformant(outcome: Outcome) -> None:
    """Fail the calling test with `failure_report` unless the run is conformant."""
    if not outcome.conformant:
        pytest.fail(failure_report(outcome), pytrace=False)


@pytest.fixture
def conformance_run() -> Callable[..., Outcome]:
    """`run_conformance`, as a fixture (see the module docstring)."""
    return run_conformance


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "conformance: a test that runs the conformance suite against a server"
    )
