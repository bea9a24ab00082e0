"""The whole suite against the mock, per API, default profile: every requirement passes.

The mock offers everything the suite can use (a second token, an admin token, clock control
and the sandbox magic values), so no requirement of the profile's layers may be skipped either:
a skip here would be a check that silently stopped running.
"""

import time

import pytest

from conformance.results import Verdict
from conformance.runner import run
from tests.conformance.conftest import Served, core_settings


@pytest.mark.parametrize("api", ["finx", "kontorion", "finhub"])
def test_suite_passes_against_the_mock(mock: Served, api: str) -> None:
    started = time.perf_counter()
    settings = core_settings()
    everything = run(mock.target(api), settings, lambda e: None)
    results = [r for r in everything if r.requirement.layer in settings.profile.layers]
    assert results
    print(f"\n{api}: core profile in {time.perf_counter() - started:.1f} s")
    for result in results:
        if result.verdict is not Verdict.PASSED:
            print(f"  {result.requirement.id} {result.verdict.value}: {result.message[:200]}")
    assert [
        (r.requirement.id, r.verdict.value, r.message)
        for r in results
        if r.verdict is not Verdict.PASSED
    ] == []
