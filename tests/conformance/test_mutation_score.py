"""Proof of power: the whole suite fails, naming the right requirement, on every broken mock.

Each variant in `mutants.VARIANTS` is served on its own port and checked with the full runner
(every layer, a small profile); the test prints the mutation score and fails below 100%.
"""

import time

import pytest

from conformance.results import Verdict
from conformance.runner import run
from conformance.settings import Profile, Settings
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.conftest import SEED, Served
from tests.conformance.mutants import VARIANTS, Variant


def _profile(variant: Variant) -> Profile:
    """The variant's layers, with just enough cases to reach each check."""
    return Profile("mutants", variant.layers, 4, 12, 15)


def _failed_checks(variant: Variant, monkeypatch: pytest.MonkeyPatch) -> tuple[set[str], bool]:
    with monkeypatch.context() as patched:
        if variant.patch is not None:
            patched.setattr(*variant.patch)
        app = variant.wrap(create_app())
        with serve_in_thread(app) as url:
            target = Served(url, app).target(variant.api, timeout=variant.timeout)
            results = run(target, Settings(_profile(variant), SEED, budget_s=60), lambda e: None)
    errors = [r.message for r in results if r.verdict is Verdict.ERROR]
    assert not errors, (variant.name, errors)
    failed = {r.requirement.check for r in results if r.verdict is Verdict.FAILED}
    conformant = not any(
        r.verdict is Verdict.FAILED and r.requirement.level == "MUST" for r in results
    )
    return failed, conformant


def test_mutation_score_every_broken_mock_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    lines, caught = [], 0
    for variant in VARIANTS:
        started = time.perf_counter()
        failed, conformant = _failed_checks(variant, monkeypatch)
        named = sorted(failed & variant.caught_by)
        if named and not conformant:
            caught += 1
        took = time.perf_counter() - started
        lines.append(
            f"  {variant.name} ({variant.api}, {took:.1f}s): {', '.join(named) or 'MISSED'}"
        )
    print("\n" + "\n".join(lines))
    print(f"mutation score: {caught}/{len(VARIANTS)} broken mocks caught")
    assert caught == len(VARIANTS), "\n".join(lines)
