"""The schema layer: passes against the mock, and its failures carry evidence.

That each check fails against its breakage is shown by the mutation score test.
"""

from dataclasses import replace
from typing import Any

import requests

from conformance.layers.schema import _Run, call_case, run_schema
from conformance.layers.stateful import STILL_THERE
from conformance.records import GONE_TEXT
from conformance.requirements import build_catalogue
from conformance.results import Verdict
from conformance.tally import tallies_for
from tests.conformance.broken import SKIP_DELETE
from tests.conformance.conftest import Served, quick_settings


def _verdicts(served: Served, api: str) -> dict[str, tuple[Verdict, str]]:
    target = served.target(api)
    results = run_schema(target, build_catalogue(target.spec), quick_settings(), lambda e: None)
    return {r.requirement.id: (r.verdict, r.message) for r in results}


def test_schema_layer_passes_against_the_mock(mock: Served) -> None:
    verdicts = _verdicts(mock, "kontorion")
    assert {v for v, _ in verdicts.values()} == {Verdict.PASSED}, [
        (k, v, m) for k, (v, m) in verdicts.items() if v is not Verdict.PASSED
    ]


def test_schema_failure_carries_replayable_evidence(broken: Served) -> None:
    broken.app.mode = "server_error"
    target = broken.target("finx")
    results = run_schema(target, build_catalogue(target.spec), quick_settings(), lambda e: None)
    failed = next(r for r in results if r.requirement.id == "FINX-SCHEMA-007")
    assert failed.seed == 1
    assert failed.cases > 0
    curl = failed.exchanges[0].as_curl()
    assert curl.startswith("curl -X GET") and "limit=" in curl
    assert failed.exchanges[0].status == 500


def test_schema_use_after_free_names_every_gone_status(broken: Served) -> None:
    broken.app.mode = SKIP_DELETE
    target = broken.target("finx")
    results = run_schema(target, build_catalogue(target.spec), quick_settings(), lambda e: None)
    failed = next(r for r in results if r.requirement.check == "use_after_free")
    assert failed.verdict is Verdict.FAILED
    assert STILL_THERE.split("{answer}")[1].format(gone=GONE_TEXT) in failed.message


class _Unanswered:
    """A generated case whose request gets no answer (the connection is refused)."""

    def __init__(self) -> None:
        self.method = "GET"
        self.formatted_path = "/v1/kyc"
        self.headers = {"X-Case": "1"}

    def call(self, **kwargs: Any) -> None:
        raise requests.ConnectionError("connection refused")


def test_a_case_without_an_answer_fails_not_a_server_error_with_its_evidence(
    mock: Served,
) -> None:
    """One helper sends a generated case for the schema layer and the plain-document layer."""
    target = replace(mock.target("finx"), base_url="http://127.0.0.1:9/finx", timeout=1.0)
    tallies = tallies_for(build_catalogue(target.spec), "schema")
    run = _Run(target, quick_settings(), tallies, requests.Session(), None)
    credentials = {"Authorization": "Bearer test_conf"}
    assert call_case(run, _Unanswered(), credentials, credentials, "listKyc", "listKyc") is None
    tally = tallies["not_a_server_error"]
    assert tally.cases == 1 and tally.failures[0].startswith("listKyc: no response (")
    assert tally.evidence[0].url == "http://127.0.0.1:9/finx/v1/kyc"
    assert "test_conf" not in tally.evidence[0].as_curl()
