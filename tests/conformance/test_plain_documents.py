"""The suite against the mock serving plain documents: schema and security layers run, the
lifecycle layer is SKIPPED with the reason; with inference the inferred lifecycle is checked."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance import cli
from conformance.layers.plain import (
    NO_RECORDS,
    NO_VALID_CREDENTIALS,
    UNSECURED,
    credentials,
)
from conformance.numbers import interoperable
from conformance.results import Result, Verdict
from conformance.runner import STATELESS_LIFECYCLE, run
from conformance.settings import Profile, Settings
from conformance.target import Target
from kycspec.loader import load_spec
from mockserver.app import create_app
from mockserver.testing import serve_in_thread

DOCUMENTS = Path(__file__).resolve().parent.parent / "data" / "documents"
SMALL = Profile("small", ("schema", "lifecycle", "security"), 3, 3, 6)


@pytest.fixture(scope="module")
def plain() -> Iterator[str]:
    with serve_in_thread(create_app(DOCUMENTS, validate_responses=True)) as url:
        yield url


@pytest.fixture(scope="module")
def inferred() -> Iterator[str]:
    with serve_in_thread(create_app(DOCUMENTS, infer=True, validate_responses=True)) as url:
        yield url


def _results(url: str, name: str, base: str, *, infer: bool = False) -> dict[str, Result]:
    spec = load_spec(DOCUMENTS / f"{name}.yaml", infer=infer)
    target = Target(
        spec, url + base, "test_conf", token_b="test_other", control_url=f"{url}/__mock"
    )
    results = run(target, Settings(SMALL, 1, budget_s=120.0), lambda event: None)
    return {r.requirement.id.removeprefix(name.upper() + "-"): r for r in results}


def test_a_plain_3_1_document_runs_schema_and_security_and_skips_the_lifecycle(
    plain: str,
) -> None:
    results = _results(plain, "museum-3.1", "/museum-3.1/v1")
    assert results["LC-000"].verdict is Verdict.SKIPPED
    assert results["LC-000"].message == STATELESS_LIFECYCLE
    for check in ("SCHEMA-001", "SCHEMA-003", "SCHEMA-005", "SCHEMA-006", "SCHEMA-007", "SEC-001"):
        assert results[check].verdict is Verdict.PASSED, (check, results[check].message)
        assert results[check].cases > 0
    assert results["SEC-002"].message == NO_VALID_CREDENTIALS
    assert results["SEC-003"].message == NO_RECORDS
    assert results["SCHEMA-009"].message == NO_RECORDS


def test_a_plain_3_0_document_gets_errors_in_its_own_envelope(plain: str) -> None:
    results = _results(plain, "petstore", "/petstore/v1")
    for check in ("SCHEMA-001", "SCHEMA-002", "SCHEMA-003", "SCHEMA-006", "SCHEMA-007"):
        assert results[check].verdict is Verdict.PASSED, (check, results[check].message)
    assert results["SEC-001"].message == UNSECURED


def test_a_swagger_2_document_refuses_requests_without_its_api_key(plain: str) -> None:
    results = _results(plain, "petstore-swagger2", "/petstore-swagger2/v1")
    for check in ("SEC-001", "SCHEMA-001", "SCHEMA-002", "SCHEMA-003"):
        assert results[check].verdict is Verdict.PASSED, (check, results[check].message)


def test_with_inference_the_inferred_lifecycle_is_checked(inferred: str) -> None:
    results = _results(inferred, "museum-3.1", "/museum-3.1/v1", infer=True)
    lifecycle = {k: r for k, r in results.items() if "-LC-" in k}
    assert "LC-000" not in results
    assert lifecycle
    assert all(r.verdict is not Verdict.ERROR for r in lifecycle.values())
    assert results["SPECIAL-EVENT-LC-001"].verdict is Verdict.PASSED


def test_credentials_go_where_the_scheme_says() -> None:
    document = load_spec(DOCUMENTS / "petstore-swagger2.yaml").document
    operation = document["paths"]["/pets"]["get"]
    assert credentials(document, operation, "k") == {"headers": {"X-API-Key": "k"}, "query": {}}
    assert credentials(document, operation, None) == {"headers": {}, "query": {}}


def test_one_bad_document_does_not_stop_a_run_against_another(tmp_path: Path) -> None:
    shutil.copy(DOCUMENTS / "petstore.yaml", tmp_path)
    (tmp_path / "broken.yaml").write_text("openapi: 3.0.3\ninfo: {title: Broken}\npaths: {}\n")
    runner = CliRunner()
    listed = runner.invoke(
        cli.main, ["requirements", "--api", "petstore", "--specs-dir", str(tmp_path)]
    )
    assert listed.exit_code == 0, listed.output
    assert "PETSTORE-LC-000\tMUST\tlifecycle" in listed.output
    arguments = ["--base-url", "http://127.0.0.1:9", "--token", "t", "--specs-dir", str(tmp_path)]
    broken = runner.invoke(cli.main, ["run", "--api", "broken", *arguments])
    assert broken.exit_code == cli.EXIT_CANNOT_RUN
    assert "broken.yaml#/info" in broken.output


def test_only_numbers_json_parsers_interoperate_on_prove_valid_data_accepted() -> None:
    assert interoperable({"id": 2**53 - 1, "price": -2.5, "tags": ["x", None, True]})
    assert not interoperable({"extra": [1, 11161103754368468910080]})  # RFC 8259 section 6
    assert not interoperable([float("inf")])


BIG_NUMBERS = """\
openapi: 3.0.3
info: {title: Big numbers, version: "1"}
servers: [{url: /v1}]
paths:
  /counts:
    post:
      operationId: addCount
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [n]
              properties: {n: {type: integer, minimum: 100000000000000000000}}
      responses:
        '201': {description: Added}
"""


def test_valid_data_no_json_parser_need_take_is_not_judged_when_refused(tmp_path: Path) -> None:
    # The mock refuses integers beyond 64 bits with a 400 the document does not declare; data
    # whose numbers exceed RFC 8259's interoperable range proves neither check wrong.
    (tmp_path / "big.yaml").write_text(BIG_NUMBERS)
    with serve_in_thread(create_app(tmp_path)) as url:
        target = Target(load_spec(tmp_path / "big.yaml"), url + "/big/v1", "test_conf")
        results = run(target, Settings(SMALL, 1, budget_s=60.0), lambda event: None)
    by_id = {r.requirement.id.removeprefix("BIG-"): r for r in results}
    for check in ("SCHEMA-001", "SCHEMA-006"):
        assert by_id[check].verdict is not Verdict.FAILED, (check, by_id[check].message)


OAI = Path(__file__).resolve().parent.parent / "data" / "oai"


def test_the_oai_callback_example_is_conformant_with_format_uri_enforced() -> None:
    """The OpenAPI Initiative's callback example takes a `format: uri` query parameter: the
    mock refuses what is not a URI (SCHEMA-005 sends such values), so the suite passes it."""
    spec = load_spec(OAI / "callback-example.yaml")
    with serve_in_thread(create_app(OAI, validate_responses=True)) as url:
        target = Target(spec, f"{url}/callback-example", "test_conf")
        results = run(target, Settings(SMALL, 1, budget_s=120.0), lambda event: None)
    verdicts = {r.requirement.id.removeprefix("CALLBACK-EXAMPLE-"): r for r in results}
    assert verdicts["SCHEMA-005"].verdict is Verdict.PASSED, verdicts["SCHEMA-005"].message
    assert verdicts["SCHEMA-005"].cases > 0
    assert not [r.message for r in results if r.verdict in (Verdict.FAILED, Verdict.ERROR)]
