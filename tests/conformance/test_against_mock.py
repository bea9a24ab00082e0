"""The whole suite against the mock, per API, core profile: nothing fails.

The lifecycle layer is its own module, checked by its own tests; here it runs as part of the
core profile and its verdicts are printed, while this module asserts the schema and security
layers.
"""

import time

import pytest

from conformance.results import Verdict
from conformance.runner import run
from tests.conformance.conftest import Served, core_settings

ASSERTED_LAYERS = ("schema", "security")


@pytest.mark.parametrize("api", ["finx", "kontorion", "finhub"])
def test_suite_passes_against_the_mock(mock: Served, api: str) -> None:
    started = time.perf_counter()
    results = run(mock.target(api), core_settings(), lambda e: None)
    print(f"\n{api}: core profile in {time.perf_counter() - started:.1f} s")
    for result in results:
        if result.verdict is not Verdict.PASSED:
            print(f"  {result.requirement.id} {result.verdict.value}: {result.message[:200]}")
    asserted = [r for r in results if r.requirement.layer in ASSERTED_LAYERS]
    assert [
        (r.requirement.id, r.message) for r in asserted if r.verdict is not Verdict.PASSED
    ] == []
