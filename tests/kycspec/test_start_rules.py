"""A starting state that depends on the create's input: `default` as rules (kycspec.lifecycle),
applied by the mock, refused at load when malformed."""

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kycspec.lifecycle import START_RULES
from kycspec.loader import SpecError, build_spec, read_document
from mockserver.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
ONBOARDLY = "/onboardly/v3.6"
KEY = {"Authorization": "Token token=test_starts"}
RULES = [
    {"when": {"body.applicant_provides_data": True}, "state": "awaiting_applicant"},
    {"state": "in_progress"},
]


def _spec(default: Any, **lifecycle: Any) -> Any:
    document = read_document(EXAMPLES / "onboardly.yaml")
    declared = document["x-resources"]["check"]["lifecycle"]
    declared.update(default=default, **lifecycle)
    return build_spec("onboardly", document, source="onboardly.yaml")


def test_start_rules_compile_with_their_states_initial() -> None:
    lifecycle = _spec(RULES).resources["check"].lifecycle
    assert lifecycle.initial == ("awaiting_applicant", "in_progress")
    assert lifecycle.default == "in_progress"
    assert [rule.state for rule in lifecycle.starts] == ["awaiting_applicant"]


@pytest.mark.parametrize(
    ("default", "pointer", "problem"),
    [
        ([], "default", "should be non-empty"),
        (
            [{"whn": RULES[0]["when"], "state": "awaiting_applicant"}, RULES[1]],
            "default/0",
            "unknown key 'whn' (did you mean 'when'? allowed: when, state, x-decision)",
        ),
        ([{"when": RULES[0]["when"]}, RULES[1]], "default/0", "missing key 'state'"),
        ({"state": "in_progress"}, "default", "expected string, got object"),
        ([{"state": "in_progress"}, {"state": "awaiting_applicant"}], "default", START_RULES),
        ([RULES[0]], "default", START_RULES),  # no unconditional last rule
    ],
    ids=["empty", "typo", "no state", "mapping", "unconditional first", "no fallback"],
)
def test_start_rules_malformed_are_refused_at_load(
    default: Any, pointer: str, problem: str
) -> None:
    with pytest.raises(SpecError) as raised:
        _spec(default)
    where = "onboardly.yaml#/x-resources/check" + (f"/lifecycle/{pointer}" if pointer else "")
    assert f"{where}: " in str(raised.value)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("default", "lifecycle", "problem"),
    [
        ([{**RULES[0], "state": "waiting"}, RULES[1]], {}, "unknown state 'waiting'"),
        (
            RULES,
            {"initial": ["in_progress"]},
            "default state 'awaiting_applicant' is not initial",
        ),
        (
            [{"when": {"body.x": {"near": 1}}, "state": "in_progress"}, RULES[1]],
            {},
            "near",
        ),
    ],
    ids=["unknown state", "not initial", "unknown test"],
)
def test_start_rules_naming_what_is_not_there_are_refused(
    default: Any, lifecycle: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SpecError) as raised:
        _spec(default, **lifecycle)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("body", "state"),
    [
        ({"applicant_provides_data": True}, "awaiting_applicant"),
        ({"applicant_provides_data": False}, "in_progress"),
        ({}, "in_progress"),
    ],
)
def test_start_rules_the_mock_starts_a_check_by_its_input(body: dict[str, Any], state: str) -> None:
    client = TestClient(create_app(EXAMPLES, validate_responses=True))
    applicant = client.post(
        f"{ONBOARDLY}/applicants", headers=KEY, json={"first_name": "J", "last_name": "D"}
    ).json()["id"]
    created = client.post(
        f"{ONBOARDLY}/applicants/{applicant}/checks",
        headers=KEY,
        json={"report_names": ["document"], **body},
    )
    assert created.status_code == 201
    assert created.json()["status"] == state
    read = client.get(
        f"{ONBOARDLY}/applicants/{applicant}/checks/{created.json()['id']}", headers=KEY
    )
    assert read.json()["status"] == state
