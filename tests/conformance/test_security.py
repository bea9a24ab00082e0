"""The security layer: passes against the mock, and its failures carry evidence.

That each check fails against its breakage is shown by the mutation score test.
"""

import pytest

from conformance.layers.security import NO_TOKEN_B, run_security
from conformance.requirements import build_catalogue
from conformance.results import Verdict
from conformance.target import PLACEHOLDERS
from tests.conformance.conftest import Served, quick_settings


def _verdicts(served: Served, api: str, **overrides: object) -> dict[str, tuple[Verdict, str]]:
    target = served.target(api, **overrides)
    results = run_security(target, build_catalogue(target.spec), quick_settings(), lambda e: None)
    return {r.requirement.id: (r.verdict, r.message) for r in results}


@pytest.mark.parametrize("api", ["finx", "kontorion", "finhub"])
def test_security_layer_passes_against_the_mock(mock: Served, api: str) -> None:
    verdicts = _verdicts(mock, api)
    assert {v for v, _ in verdicts.values()} == {Verdict.PASSED}, [
        (k, v, m) for k, (v, m) in verdicts.items() if v is not Verdict.PASSED
    ]


def test_security_isolation_skipped_without_token_b(mock: Served) -> None:
    verdict, message = _verdicts(mock, "finx", token_b=None)["FINX-SEC-003"]
    assert verdict is Verdict.SKIPPED
    assert message == NO_TOKEN_B


def test_security_failure_shows_the_request_sequence(broken: Served) -> None:
    broken.app.mode = "leak"
    target = broken.target("kontorion")
    results = run_security(target, build_catalogue(target.spec), quick_settings(), lambda e: None)
    leak = next(r for r in results if r.requirement.check == "accounts_isolated")
    assert leak.verdict is Verdict.FAILED
    curls = [e.as_curl() for e in leak.exchanges]
    assert any(f"Bearer {PLACEHOLDERS['token_b']}" in c for c in curls)
    assert not any("test_other" in c for c in curls)
