"""Checks are registered objects: a verdict for an unknown check is an error, and a
requirement passes only when its discriminating case happened (on every unit it covers)."""

import pytest

from conformance.checks import CHECKS, UNKNOWN_CHECK, VerdictLost, registered
from conformance.requirement_templates import (
    LIFECYCLE,
    ROBUSTNESS,
    SCHEMA,
    SECURITY,
    WEBHOOKS,
    Template,
)
from conformance.requirements import build_catalogue
from conformance.results import Verdict
from conformance.tally import (
    COVERED,
    NOT_EXERCISED,
    ONLY_FORM,
    PARTLY,
    PARTLY_FIELDS,
    Tally,
    tally_of,
)
from kycspec.loader import load_all

SPEC = load_all()["finx"]
CATALOGUE = {r.check: r for r in build_catalogue(SPEC)}


def test_checks_every_template_names_a_registered_check_of_its_layer() -> None:
    tables = {
        "schema": SCHEMA,
        "lifecycle": LIFECYCLE,
        "security": SECURITY,
        "robustness": ROBUSTNESS,
        "webhooks": WEBHOOKS,
    }
    for layer, templates in tables.items():
        assert all(CHECKS.get(t.check).layer == layer for t in templates)
    named = {t.check for templates in tables.values() for t in templates}
    assert named == set(CHECKS.names())


def test_checks_unknown_name_is_an_error_not_a_dropped_verdict() -> None:
    with pytest.raises(VerdictLost) as raised:
        tally_of({}, "missing_tokn_refused")
    assert str(raised.value).startswith(
        UNKNOWN_CHECK.split("{known}")[0].format(name="missing_tokn_refused")
    )
    with pytest.raises(KeyError):
        Template(99, "MUST", "no_such_check", "statement", "source")
    assert registered("missing_token_refused").every == "operation"


def test_tally_without_its_discriminating_case_is_not_exercised() -> None:
    result = Tally(CATALOGUE["forbidden_transitions_refused"]).result(1)
    assert result.verdict is Verdict.SKIPPED
    assert result.message == NOT_EXERCISED.format(
        case=CHECKS.get(result.requirement.check).exercised_by
    )


def test_tally_every_operation_requirement_tried_on_one_is_partly_exercised() -> None:
    tally = Tally(CATALOGUE["missing_token_refused"])
    for name in ("a", "b", "c"):
        tally.expect(name)
    tally.skip("budget spent", "--budget")
    tally.ran(unit="a")
    result = tally.result(1)
    assert result.verdict is Verdict.SKIPPED and result.fix == "--budget"
    expected = PARTLY.format(done=1, total=3, unit="operation", missing="b, c")
    assert result.message == f"{expected} (budget spent)"
    tally.ran(unit="b")
    tally.waive("c", "no such data")
    passed = tally.result(1)
    assert passed.verdict is Verdict.PASSED
    assert passed.message.startswith(COVERED.format(done=2, total=2, unit="operation"))


def test_tally_with_a_part_no_case_could_check_is_partly_exercised() -> None:
    tally = Tally(CATALOGUE["read_after_write"])
    tally.ran()
    tally.unchecked_part("the value of x")
    result = tally.result(1)
    assert result.verdict is Verdict.SKIPPED
    assert result.message == PARTLY_FIELDS.format(what="the value of x")
    tally.fail("x moved", [])
    assert tally.result(1).verdict is Verdict.FAILED


def test_tally_whose_every_comparison_was_by_form_only_is_partly_exercised() -> None:
    tally = Tally(CATALOGUE["read_after_write"])
    tally.ran()
    tally.compared(False, ["report", "url"])
    result = tally.result(1)
    assert result.verdict is Verdict.SKIPPED
    assert result.message == PARTLY_FIELDS.format(what=ONLY_FORM.format(what="report, url"))
    tally.ran()
    tally.compared(True, ["report"])
    assert tally.result(1).verdict is Verdict.PASSED


def test_tally_failure_wins_and_generation_errors_are_errors() -> None:
    tally = Tally(CATALOGUE["negative_data_rejection"])
    tally.error("generating failed")
    assert tally.result(1).verdict is Verdict.ERROR
    tally.fail("refused nothing", [])
    assert tally.result(1).verdict is Verdict.FAILED
