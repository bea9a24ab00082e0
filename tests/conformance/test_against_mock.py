"""The whole suite against the mock, per API, default profile: every requirement passes.

The mock offers everything the suite can use (a second token, an admin token, clock control
and the sandbox magic values), so no requirement of the profile's layers may be skipped either:
a skip here would be a check that silently stopped running. Every requirement of those layers
must be reported, each exercised at least once, so an empty or partial run cannot pass.
"""

import time
from typing import Any

import pytest

from conformance.requirements import build_catalogue
from conformance.results import RunVerdict, Verdict, run_verdict
from conformance.runner import run
from mockserver.app import create_app
from mockserver.sandbox import TokenPolicy
from tests.conformance.conftest import Served, core_settings


@pytest.mark.parametrize("api", ["finx", "kontorion", "finhub"])
def test_suite_passes_against_the_mock(mock: Served, api: str) -> None:
    started = time.perf_counter()
    settings = core_settings()
    target = mock.target(api)
    everything = run(target, settings, lambda e: None)
    results = [r for r in everything if r.requirement.layer in settings.profile.layers]
    print(f"\n{api}: core profile in {time.perf_counter() - started:.1f} s")
    for result in results:
        if result.verdict is not Verdict.PASSED:
            print(f"  {result.requirement.id} {result.verdict.value}: {result.message[:200]}")
    expected = build_catalogue(target.spec)
    assert [r.requirement.id for r in results] == [
        r.id for r in expected if r.layer in settings.profile.layers
    ]
    assert [
        (r.requirement.id, r.verdict.value, r.message)
        for r in results
        if r.verdict is not Verdict.PASSED or r.cases == 0
    ] == []
    assert run_verdict(results, require_all=True) is RunVerdict.CONFORMANT


def test_suite_passes_the_mock_with_other_token_prefixes(serve: Any) -> None:
    """`mockserver serve --user-prefix dev_ --admin-prefix root_`: the suite learns the sandbox
    from the control plane (token introspection), so clock and reset checks still pass."""
    served: Served = serve(create_app(policy=TokenPolicy("dev_", "root_")))
    tokens = {"token": "dev_conf", "token_b": "dev_other", "admin_token": "root_conf"}
    target = served.target("kontorion", **tokens)
    settings = core_settings()
    results = run(target, settings, lambda e: None)
    ran = [r for r in results if r.requirement.layer in settings.profile.layers]
    assert (
        ran
        and [
            (r.requirement.id, r.verdict.value, r.message)
            for r in ran
            if r.verdict is not Verdict.PASSED
        ]
        == []
    )
