"""The schema layer: passes against the mock, and each check fails against its breakage."""

import pytest

from conformance.layers.schema import run_schema
from conformance.requirements import build_catalogue
from conformance.results import Verdict
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


@pytest.mark.parametrize(
    ("mode", "api", "requirement"),
    [
        ("teapot", "finx", "FINX-SCHEMA-001"),  # status_code_conformance
        ("wrong_content_type", "finx", "FINX-SCHEMA-002"),  # content_type_conformance
        ("bad_body", "kontorion", "KONTORION-SCHEMA-003"),  # response_schema_conformance
        ("accept_invalid", "finx", "FINX-SCHEMA-005"),  # negative_data_rejection
        ("refuse_valid", "kontorion", "KONTORION-SCHEMA-006"),  # positive_data_acceptance
        ("server_error", "finx", "FINX-SCHEMA-007"),  # not_a_server_error
        ("skip_delete", "finx", "FINX-SCHEMA-008"),  # use_after_free
        ("lose_records", "kontorion", "KONTORION-SCHEMA-009"),  # ensure_resource_availability
    ],
)
def test_schema_check_fails_against_broken_app(
    broken: Served, mode: str, api: str, requirement: str
) -> None:
    broken.app.mode = mode
    verdict, message = _verdicts(broken, api)[requirement]
    assert verdict is Verdict.FAILED, message
    assert message


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
