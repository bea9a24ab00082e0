"""A Sumsub-shaped spec (`tests/data/levelshaped`) against the mock, which serves it correctly:
every lifecycle requirement the suite runs on it passes, and none is skipped for want of a
record the suite could not create.

The spec's lists filter on an enum field (`levelName`, `idDocType`) and a patterned one
(`country`): the values the suite sends for them follow their schemas (no free marker where
the schema does not let a string be free).
"""

from pathlib import Path
from typing import Any

import yaml

from conformance.layers.lifecycle_model import OneOf, expect_transition
from conformance.layers.schema import GONE_STATUS, acceptable
from conformance.results import Result, Verdict
from conformance.runner import run
from conformance.settings import Profile, Settings
from conformance.target import Target
from kycspec import load_spec
from mockserver.app import create_app
from mockserver.testing import serve_in_thread

SPEC = Path(__file__).parents[1] / "data" / "levelshaped" / "levelshaped.yaml"
PROFILE = Profile("levelshaped", ("schema", "lifecycle"), 4, 12, 12)


def run_levelshaped(tmp_path: Path, change: Any = None) -> dict[str, Result]:
    """The schema and lifecycle layers against the mock serving the (changed) spec, by id."""
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    if change is not None:
        change(document)
    path = tmp_path / "levelshaped.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    spec = load_spec(path)
    with serve_in_thread(create_app(tmp_path, validate_responses=True)) as url:
        target = Target(
            spec,
            f"{url}/levelshaped",
            "test_level",
            token_b="test_other",
            control_url=f"{url}/__mock",
            timeout=5.0,
            sandbox="level",
        )
        results = run(target, Settings(PROFILE, seed=1, budget_s=120), lambda e: None)
    return {r.requirement.id.split("-", 1)[1]: r for r in results}


def assert_conformant(results: dict[str, Result]) -> None:
    bad = {
        k: (r.verdict, r.message)
        for k, r in results.items()
        if r.verdict in (Verdict.FAILED, Verdict.ERROR)
    }
    assert bad == {}, bad
    for resource in ("APPLICANT", "IDDOC"):
        assert results[f"{resource}-LC-001"].verdict is Verdict.PASSED
        assert results[f"{resource}-LC-002"].verdict is Verdict.PASSED


def test_filters_on_enum_and_patterned_fields_get_values_their_schemas_allow(
    tmp_path: Path,
) -> None:
    results = run_levelshaped(tmp_path)
    assert_conformant(results)
    assert results["IDDOC-LC-007"].verdict is Verdict.PASSED


def test_a_child_s_writable_parent_id_field_is_predicted_from_the_path_used(
    tmp_path: Path,
) -> None:
    def writable_parent_field(document: dict[str, Any]) -> None:
        schema = document["components"]["schemas"]["IdDoc"]["properties"]["applicantId"]
        del schema["readOnly"]

    assert_conformant(run_levelshaped(tmp_path, writable_parent_field))


def level_in_query(document: dict[str, Any]) -> None:
    """`POST /applicants?levelName=` (required), stored by the create's `set`."""
    create = document["paths"]["/applicants"]["post"]
    create["parameters"] = [
        {
            "name": "levelName",
            "in": "query",
            "required": True,
            "schema": {"$ref": "#/components/schemas/LevelName"},
        }
    ]
    create["x-operation"]["set"] = {"levelName": "$query.levelName"}
    body = document["components"]["schemas"]["ApplicantCreate"]
    body["required"].remove("levelName")
    del body["properties"]["levelName"]


def test_required_query_parameters_are_sent_and_the_model_reads_them(tmp_path: Path) -> None:
    results = run_levelshaped(tmp_path, level_in_query)
    assert_conformant(results)
    assert results["SCHEMA-009"].verdict is Verdict.PASSED


def test_a_create_under_a_parent_may_answer_404_to_valid_data() -> None:
    spec = load_spec(SPEC)
    assert GONE_STATUS in acceptable(spec.operations["addIdDoc"])
    assert GONE_STATUS not in acceptable(spec.operations["createApplicant"])


def ok_answer(document: dict[str, Any]) -> None:
    """`requestCheck` answers `{"ok": 1}`, not the applicant."""
    check = document["paths"]["/applicants/{applicantId}/status/pending"]["post"]
    check["x-operation"]["response"] = {"ok": 1}
    schema = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "integer"}}}
    check["responses"]["200"] = {
        "description": "Check requested.",
        "content": {"application/json": {"schema": schema}},
    }


def test_a_transition_answering_no_record_is_judged_by_reading_the_record_back(
    tmp_path: Path,
) -> None:
    results = run_levelshaped(tmp_path, ok_answer)
    assert_conformant(results)
    assert results["APPLICANT-LC-004"].verdict is Verdict.PASSED


def test_a_move_declared_from_every_state_the_clock_may_have_left_is_accepted(
    tmp_path: Path,
) -> None:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    move = document["x-resources"]["applicant"]["lifecycle"]["transitions"][0]
    move["from"] = ["init", "pending"]
    path = tmp_path / "levelshaped.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    op = load_spec(path).operations["requestCheck"]
    either = {"id": "a" * 24, "reviewStatus": OneOf(("init", "pending"))}
    outcome = expect_transition(op, either, {}, {}, magic=False)
    assert outcome.refused is None
    assert outcome.record is not None and outcome.record["reviewStatus"] == "pending"
    assert outcome.move == ("init or pending", "pending")
    refused = expect_transition(op, {**either, "reviewStatus": OneOf(("x", "y"))}, {}, {}, False)
    assert refused.refused == "forbidden_transitions_refused"
    assert refused.move == ("x or y", "pending")
