"""The pytest entry point: a fixture that runs the suite, and a readable assertion."""

import pytest

from conformance.pytest_plugin import (
    NOTHING_EXERCISED,
    Outcome,
    assert_conformant,
    failure_report,
)
from conformance.requirements import build_catalogue
from conformance.results import Result, Verdict
from kycspec.loader import load_all
from tests.conformance.conftest import BASE_PATHS, Served


def test_pytest_plugin_fixture_runs_the_suite(conformance_run, mock: Served) -> None:  # type: ignore[no-untyped-def]
    outcome = conformance_run(
        api="finx",
        base_url=mock.url + BASE_PATHS["finx"],
        token="test_conf",
        token_b="test_other",
        profile="security",
        seed=3,
    )
    assert_conformant(outcome)
    assert outcome.results


def test_pytest_plugin_failure_message_names_requirement() -> None:
    requirement = build_catalogue(load_all()["finx"])[0]
    outcome = Outcome("finx", "http://x", 3, (Result(requirement, Verdict.FAILED, "bad"),), None)
    with pytest.raises(pytest.fail.Exception) as raised:
        assert_conformant(outcome)
    assert requirement.id in str(raised.value)
    assert failure_report(outcome).startswith("finx at http://x is not conformant (seed 3)")


def test_pytest_plugin_run_with_nothing_exercised_is_not_conformant() -> None:
    requirement = build_catalogue(load_all()["finx"])[0]
    skipped = (Result(requirement, Verdict.SKIPPED, "budget spent", fix="--budget"),)
    outcome = Outcome("finx", "http://x", 3, skipped, None)
    assert not outcome.conformant
    assert NOTHING_EXERCISED in failure_report(outcome)
