"""Values the reference model cannot predict exactly are judged by their form, never failed.

A `$text:` default that reads the record's id, and a generated id (`$id:`) set on entering a
state the clock moves the record to, are right on the mock whatever value it draws; the same
declarations with a wrong fixed part (the server serves another spec) still fail.
"""

from pathlib import Path

import pytest

from conformance.results import Result, Verdict
from tests.conformance.thingspec import REPORT, URL, lifecycle_document, run_lifecycle_layer


def _verdicts(results: list[Result]) -> dict[str, tuple[Verdict, str]]:
    return {r.requirement.check: (r.verdict, r.message) for r in results}


def test_values_known_by_their_form_pass_on_the_mock(tmp_path: Path) -> None:
    results = run_lifecycle_layer(tmp_path, lifecycle_document(), lifecycle_document())
    verdicts = _verdicts(results)
    bad = {k: v for k, v in verdicts.items() if v[0] in (Verdict.FAILED, Verdict.ERROR)}
    assert bad == {}
    # The create answer showed the url (the template read the record's id), and the clock moved
    # a record to `done` (its generated report id compared by form).
    assert verdicts["read_after_write"][0] is Verdict.PASSED
    assert verdicts["clock_expiry"][0] is Verdict.PASSED


@pytest.mark.parametrize(
    ("url", "report", "shown"),
    [
        # the fixed part of the template is wrong
        (
            "$text:https://tiny.example/begin/{record.id}",
            REPORT,
            "url is 'https://tiny.example/begin/",
        ),
        # the template reads another value than the record's id
        (
            "$text:https://tiny.example/start/x{record.id}",
            REPORT,
            "url is 'https://tiny.example/start/x",
        ),
        # the generated id has another prefix than the declared format
        (URL, "$id:rpt_{alnum:10}", "report is 'rpt_"),
    ],
)
def test_a_wrong_known_part_still_fails(tmp_path: Path, url: str, report: str, shown: str) -> None:
    results = run_lifecycle_layer(tmp_path, lifecycle_document(url, report), lifecycle_document())
    failed = [r for r in results if r.verdict is Verdict.FAILED]
    assert failed, _verdicts(results)
    assert any(shown in r.message for r in failed), [r.message for r in failed]


def test_a_write_refused_in_a_read_only_state_names_the_state(tmp_path: Path) -> None:
    served = lifecycle_document(read_only=())
    results = run_lifecycle_layer(tmp_path, served, lifecycle_document())
    verdict, message = _verdicts(results)["read_only_states_refuse_writes"]
    assert verdict is Verdict.FAILED
    assert "updateThing on thg_" in message and " (in done) answered 200;" in message
    assert "(- -> -)" not in message
