"""Proof of power, both ways, on variants of the mock (tests/conformance/mutants.py).

- Every broken mock fails the suite, naming the right requirement (the mutation score: one
  test case per variant, so the score is the number that pass; `-s` prints each verdict).
- Every variant making a choice the specs allow passes the suite.
- A server on which a requirement cannot be exercised does not get it PASSED.
- A misconfigured run stops before any requirement, with exit 2 and the preflight's message.
"""

import time
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli import EXIT_CANNOT_RUN, main
from conformance.results import Result, RunVerdict, Verdict, run_verdict
from conformance.runner import run
from conformance.settings import Profile, Settings
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.conftest import BASE_PATHS, SEED, Served
from tests.conformance.mutants import ALLOWED, MISCONFIGURED, VACUOUS, VARIANTS, Variant


def _profile(variant: Variant) -> Profile:
    """The variant's layers, with just enough cases to reach each check."""
    return Profile("mutants", variant.layers, 4, 12, 15)


def _results(variant: Variant, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> list[Result]:
    with monkeypatch.context() as patched:
        for patch in variant.patches:
            patched.setattr(*patch)
        app = variant.wrap(create_app(**variant.app))
        with serve_in_thread(app) as url:
            overrides = {"timeout": variant.timeout, **variant.target}
            target = Served(url, app).target(variant.api, **overrides)
            options = Settings(_profile(variant), SEED, budget_s=60, **settings)
            results = run(target, options, lambda e: None)
    assert results, f"{variant.name}: the run did not start"
    errors = [r.message for r in results if r.verdict is Verdict.ERROR]
    assert not errors, (variant.name, errors)
    return results


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_mutation_score_broken_mock_is_caught(
    variant: Variant, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.perf_counter()
    results = _results(variant, monkeypatch)
    failed = {r.requirement.check for r in results if r.verdict is Verdict.FAILED}
    named = sorted(failed & variant.caught_by)
    took = time.perf_counter() - started
    print(f"\n  {variant.name} ({variant.api}, {took:.1f}s): {', '.join(named) or 'MISSED'}")
    assert named and run_verdict(results) is RunVerdict.NOT_CONFORMANT, (variant.name, failed)
    if variant.exact:
        assert failed == variant.caught_by, (variant.name, failed)


@pytest.mark.parametrize("variant", ALLOWED, ids=[v.name for v in ALLOWED])
def test_mutation_score_allowed_choice_passes(
    variant: Variant, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _results(variant, monkeypatch)
    failed = [(r.requirement.id, r.message) for r in results if r.verdict is Verdict.FAILED]
    assert failed == []
    about = [r for r in results if r.requirement.check in variant.caught_by]
    assert about and all(r.verdict is Verdict.PASSED for r in about)
    assert run_verdict(results) is RunVerdict.CONFORMANT


@pytest.mark.parametrize("variant", VACUOUS, ids=[v.name for v in VACUOUS])
def test_mutation_score_requirement_never_exercised_is_not_passed(
    variant: Variant, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _results(variant, monkeypatch)
    about = [r for r in results if r.requirement.check in variant.caught_by]
    assert about and all(r.verdict is Verdict.SKIPPED for r in about), about
    assert all(r.fix == "--magic" for r in about)
    assert run_verdict(results, require_all=True) is RunVerdict.NOT_CONFORMANT


@pytest.mark.parametrize(
    ("api", "overrides", "message"),
    [case[1:] for case in MISCONFIGURED],
    ids=[case[0] for case in MISCONFIGURED],
)
def test_mutation_score_misconfigured_run_cannot_run(
    mock: Served, api: str, overrides: dict[str, str], message: str
) -> None:
    options = {
        "--base-url": mock.url + BASE_PATHS[api],
        "--token": "test_conf",
        "--control-url": mock.url + "/__mock",
    }
    for name, value in overrides.items():
        option = "--" + name.replace("_", "-")
        options[option] = mock.url + value if name.endswith("url") else value
    args = ["run", "--api", api, "--profile", "security", "--seed", "5"]
    result = CliRunner().invoke(main, [*args, *(w for pair in options.items() for w in pair)])
    assert result.exit_code == EXIT_CANNOT_RUN, result.output
    assert message.split("{", maxsplit=1)[0] in result.output
    assert "-SEC-001" not in result.output
