"""The vendor specs in examples/specs: served by the mock and conformant under the whole suite.

They are written only in the `x-` vocabulary (nothing in mockserver/ or conformance/ names
them), so a pass here shows that a new vendor is one YAML file.
"""

import time
from pathlib import Path

import pytest

from conformance.results import Verdict
from conformance.runner import run
from conformance.settings import PROFILES, Profile, Settings
from conformance.target import Target
from kycspec.loader import load_all
from mockserver import engine as mock_engine
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.conftest import SEED, core_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
SPECS = load_all(EXAMPLES)


@pytest.fixture(scope="module")
def examples_url() -> str:
    with serve_in_thread(create_app(EXAMPLES, validate_responses=True)) as url:
        yield url


def test_example_specs_name_no_vendor_in_the_code() -> None:
    root = EXAMPLES.parents[1]
    code = "".join(
        path.read_text(encoding="utf-8")
        for package in ("kycspec", "mockserver", "conformance")
        for path in (root / package).rglob("*.py")
    )
    assert [name for name in SPECS if name in code.lower()] == []


def _target(url: str, api: str) -> Target:
    spec = SPECS[api]
    return Target(
        spec,
        f"{url}/{api}{spec.base_path}",
        "test_conf",
        token_b="test_other",
        admin_token="admin_conf",
        control_url=f"{url}/__mock",
        magic=True,
    )


@pytest.mark.parametrize("api", sorted(SPECS))
def test_example_spec_is_conformant_under_the_suite(examples_url: str, api: str) -> None:
    target = _target(examples_url, api)
    started = time.perf_counter()
    settings = core_settings()
    everything = run(target, settings, lambda e: None)
    results = [r for r in everything if r.requirement.layer in settings.profile.layers]
    assert results
    elapsed = time.perf_counter() - started
    print(f"\n{api}: core profile in {elapsed:.1f} s, {len(results)} requirements")
    assert [
        (r.requirement.id, r.verdict.value, r.message)
        for r in results
        if r.verdict is not Verdict.PASSED
    ] == []


def test_example_spec_a_mock_that_writes_to_read_only_records_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The suite catches a server that lets a redacted (read-only) applicant change."""
    monkeypatch.setattr(mock_engine, "check_writable", lambda *args: None)
    with serve_in_thread(create_app(EXAMPLES)) as url:
        settings = Settings(Profile("lifecycle", ("lifecycle",), 0, 12, 15), SEED, budget_s=120.0)
        results = run(_target(url, "onboardly"), settings, lambda e: None)
    failed = {r.requirement.check for r in results if r.verdict is Verdict.FAILED}
    assert failed == {"read_only_states_refuse_writes"}


WEBHOOK_CHECKS = {
    "webhook_event_emitted",
    "webhook_payload_valid",
    "webhook_signature_valid",
    "webhook_retried",
    "webhook_order_per_record",
}


@pytest.mark.parametrize("api", sorted(SPECS))
def test_example_spec_webhooks_pass_the_webhooks_profile(api: str) -> None:
    """Persona-style (timestamped) and Onfido-style (raw body) signatures alike verify.

    A server of its own: no delivery still being retried from another run reaches it.
    """
    with serve_in_thread(create_app(EXAMPLES)) as url:
        settings = Settings(PROFILES["webhooks"], SEED, budget_s=60.0)
        results = run(_target(url, api), settings, lambda e: None)
    verdicts = {
        r.requirement.check: r.verdict for r in results if r.requirement.layer == "webhooks"
    }
    assert verdicts == dict.fromkeys(WEBHOOK_CHECKS, Verdict.PASSED), [
        (r.requirement.check, r.message) for r in results if r.requirement.layer == "webhooks"
    ]
