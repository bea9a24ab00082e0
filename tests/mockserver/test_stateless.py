"""Plain documents (no x- extensions) are served statelessly, Prism's way; bad ones are reported.

Every response the in-process client gets has been validated against its document
(`validate_responses=True`), so a generated body that breaks its schema fails here as a 500.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from kycspec.problems import DocumentError
from kycspec.stateless import MAKE_STATEFUL
from mockserver import cli, errors
from mockserver.app import create_app

DOCUMENTS = Path(__file__).resolve().parent.parent / "data" / "documents"
PETS = "/petstore/v1"
SWAGGER = "/petstore-swagger2/v1"
MUSEUM = "/museum-3.1/v1"
LIBRARY = "/library/library"
BROKEN = "openapi: 3.0.3\ninfo: {title: Broken}\npaths: {}\n"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(DOCUMENTS, validate_responses=True)) as test_client:
        yield test_client


def test_a_list_is_generated_from_the_schema_the_same_for_the_same_request(
    client: TestClient,
) -> None:
    first = client.get(f"{PETS}/pets", params={"limit": 5})
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    pets = first.json()
    assert pets
    assert all(isinstance(p["id"], int) and isinstance(p["name"], str) for p in pets)
    assert client.get(f"{PETS}/pets", params={"limit": 5}).json() == pets


def test_prefer_dynamic_gives_fresh_data(client: TestClient) -> None:
    static = client.get(f"{PETS}/pets").json()
    bodies = [
        client.get(f"{PETS}/pets", headers={"Prefer": "dynamic=true"}).json() for _ in range(5)
    ]
    assert any(body != static for body in bodies)


def test_the_first_example_answers_and_prefer_example_picks_another(client: TestClient) -> None:
    assert client.get(f"{PETS}/pets/1").json() == {"id": 1, "name": "Rex", "tag": "dog"}
    chosen = client.get(f"{PETS}/pets/1", headers={"Prefer": "example=tom"})
    assert chosen.json() == {"id": 2, "name": "Tom", "tag": "cat"}
    unknown = client.get(f"{PETS}/pets/1", headers={"Prefer": "example=nope"})
    assert unknown.status_code == 400
    message = errors.PREFER_UNKNOWN_EXAMPLE.format(name="nope", known="rex, tom")
    assert unknown.json() == {"code": 400, "message": message}  # the document's Error schema


def test_prefer_code_answers_with_a_declared_or_default_response(client: TestClient) -> None:
    forced = client.get(f"{PETS}/pets/1", headers={"Prefer": "code=503"})
    assert forced.status_code == 503
    assert set(forced.json()) >= {"code", "message"}  # the `default` response's Error schema
    refused = client.get(f"{SWAGGER}/pets/1", headers={"Prefer": "code=418", "X-API-Key": "k"})
    assert refused.status_code == 400
    declared = "200, 404"
    assert refused.json()["message"] == errors.PREFER_UNKNOWN_CODE.format(
        code="418", declared=declared
    )


def test_a_body_without_content_answers_empty(client: TestClient) -> None:
    created = client.post(f"{PETS}/pets", json={"id": 3, "name": "Kit"})
    assert created.status_code == 201
    assert created.content == b""


def test_requests_are_validated_against_the_document(client: TestClient) -> None:
    bad = client.post(f"{PETS}/pets", json={"name": 3})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/json"  # as the `default` response says
    assert set(bad.json()) == {"code", "message"}
    too_many = client.get(f"{PETS}/pets", params={"limit": 1000})
    assert too_many.status_code == 400
    out_of_range = client.post(f"{PETS}/pets", json={"id": 2**63, "name": "Big"})
    assert out_of_range.status_code == 400  # format: int64


def test_a_document_without_an_error_schema_gets_problem_details(client: TestClient) -> None:
    bad = client.post(f"{MUSEUM}/special-events", json={}, headers={"Authorization": "Bearer x"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["status"] == 400


def test_security_schemes_of_the_document_are_enforced(client: TestClient) -> None:
    assert client.get(f"{SWAGGER}/pets").status_code == 401
    with_key = client.get(f"{SWAGGER}/pets", headers={"X-API-Key": "anything"})
    assert with_key.status_code == 200
    assert client.get(f"{MUSEUM}/special-events").status_code == 401
    with_token = client.get(f"{MUSEUM}/special-events", headers={"Authorization": "Bearer x"})
    assert with_token.status_code == 200
    assert all(event["kind"] == "special" for event in with_token.json())


def test_swagger_2_is_served_under_its_base_path(client: TestClient) -> None:
    response = client.get(f"{SWAGGER}/pets/7", headers={"X-API-Key": "k"})
    assert response.json() == {"id": 1, "name": "Rex", "tag": "dog"}


def test_a_multi_file_document_is_served_with_its_recursive_schema(client: TestClient) -> None:
    book = client.get(f"{LIBRARY}/books/dune").json()
    assert isinstance(book["bookId"], str)
    assert book["title"] == "Dune"


def test_swagger_ui_and_cors_are_served(client: TestClient) -> None:
    assert client.get(f"{PETS}/ui/").status_code == 200
    preflight = client.options(
        f"{PETS}/pets",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://app.example")


def test_the_landing_page_lists_modes_and_documents_not_served(tmp_path: Path) -> None:
    shutil.copy(DOCUMENTS / "petstore.yaml", tmp_path)
    (tmp_path / "broken.yaml").write_text(BROKEN)
    app = create_app(tmp_path)
    assert [p.file for p in app.problems] == [str(tmp_path / "broken.yaml")]
    with TestClient(app) as client:
        listing = client.get("/", headers={"Accept": "application/json"}).json()
        assert [(a["name"], a["mode"]) for a in listing["apis"]] == [("petstore", "stateless")]
        assert listing["problems"] == [app.problems[0].to_json()]
        page = client.get("/").text
        assert "Not served" in page
        assert str(tmp_path / "broken.yaml") in page
        assert client.get(f"{PETS}/pets").status_code == 200


def test_strict_refuses_to_start_with_a_bad_document(tmp_path: Path) -> None:
    shutil.copy(DOCUMENTS / "petstore.yaml", tmp_path)
    (tmp_path / "broken.yaml").write_text(BROKEN)
    with pytest.raises(DocumentError):
        create_app(tmp_path, strict=True)


def test_cli_serves_the_others_and_reports_the_bad_one(
    tmp_path: Path, started: dict[str, Any]
) -> None:
    shutil.copy(DOCUMENTS / "petstore.yaml", tmp_path)
    (tmp_path / "broken.yaml").write_text(BROKEN)
    serve = ["serve", "--port", "0", "--specs-dir", str(tmp_path)]
    result = CliRunner().invoke(cli.main, serve)
    assert result.exit_code == 0, result.output
    assert started["app"].problems
    host, port = started["address"]
    assert host == "127.0.0.1"
    assert f"http://127.0.0.1:{port}/petstore/v1 " in result.output  # whole, not cut short
    output = " ".join(result.output.split())
    assert "broken.yaml#/info" in output
    assert " ".join(cli.NOT_SERVED.format(count=1).split()) in output
    assert " ".join(MAKE_STATEFUL.split()) in output
    strict = CliRunner().invoke(cli.main, [*serve, "--strict"])
    assert strict.exit_code == cli.EXIT_CANNOT_START
    assert "broken.yaml#/info" in strict.output
    assert "Traceback" not in strict.output


def test_a_3_1_null_branch_accepts_null_and_only_null(client: TestClient) -> None:
    event = {"name": "Gala", "kind": "special", "price": 5, "capacity": None, "note": None}
    auth = {"Authorization": "Bearer x"}
    assert client.post(f"{MUSEUM}/special-events", json=event, headers=auth).status_code == 201
    wrong = {**event, "capacity": "lots"}
    assert client.post(f"{MUSEUM}/special-events", json=wrong, headers=auth).status_code == 400


def test_dates_must_exist(client: TestClient) -> None:
    event = {"name": "Gala", "kind": "special", "price": 5}
    auth = {"Authorization": "Bearer x"}
    good = {**event, "dates": ["2024-02-29"]}
    assert client.post(f"{MUSEUM}/special-events", json=good, headers=auth).status_code == 201
    bad = {**event, "dates": ["2024-13-01"]}
    assert client.post(f"{MUSEUM}/special-events", json=bad, headers=auth).status_code == 400


DECLARED_ERRORS = """
openapi: 3.0.3
info: {title: Orders, version: '1'}
servers: [{url: /v1}]
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Key}
  schemas:
    Order:
      type: object
      required: [item]
      properties: {item: {type: string}}
    Refusal:
      type: object
      required: [reason, fields]
      properties:
        reason: {type: string}
        fields: {type: array, items: {type: string}}
paths:
  /orders:
    post:
      security: [{key: []}]
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/Order'}}
      responses:
        '201': {description: Created}
        '422':
          description: Refused
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Refusal'}
              example: {reason: invalid, fields: [item]}
        4XX:
          description: Any other client error
  /orders/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - {name: verbose, in: query, schema: {type: boolean}}
      responses:
        '200': {description: Found}
"""


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    directory = tmp_path_factory.mktemp("declared")
    (directory / "orders.yaml").write_text(DECLARED_ERRORS)
    with TestClient(create_app(directory, validate_responses=True)) as test_client:
        yield test_client


def test_an_invalid_request_is_answered_with_the_declared_422_and_its_example(
    declared: TestClient,
) -> None:
    bad = declared.post("/orders/v1/orders", json={}, headers={"X-Key": "k"})
    assert bad.status_code == 422  # no 400 declared: the declared 422, not an undeclared 400
    assert bad.json() == {"reason": "invalid", "fields": ["item"]}  # the envelope does not fit


def test_missing_credentials_are_answered_with_the_declared_range(declared: TestClient) -> None:
    refused = declared.post("/orders/v1/orders", json={"item": "book"})
    assert refused.status_code == 401  # `4XX` declares it
    assert refused.content == b""  # as the `4XX` response: no content
    assert refused.headers["www-authenticate"]


def test_an_error_the_operation_does_not_declare_keeps_its_status(declared: TestClient) -> None:
    bad = declared.get("/orders/v1/orders/1", params={"verbose": "very"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["status"] == 400


def test_when_no_document_can_be_served_every_problem_is_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN)
    (tmp_path / "fragment.yaml").write_text("Pet: {type: object}\n")
    result = CliRunner().invoke(cli.main, ["serve", "--port", "0", "--specs-dir", str(tmp_path)])
    assert result.exit_code == cli.EXIT_CANNOT_START
    assert "broken.yaml#/info" in result.output
    assert "fragment.yaml" in result.output


def test_a_3_1_operation_without_responses_and_with_role_names_is_served(tmp_path: Path) -> None:
    """OpenAPI 3.1 lets an operation omit `responses` and a non-OAuth requirement list role
    names (the OpenAPI Initiative's non-oauth-scopes example); 3.0 has neither."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Scopes", "version": "1.0.0"},
        "paths": {"/users": {"get": {"security": [{"bearerAuth": ["read:users", "public"]}]}}},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }
    (tmp_path / "scopes.json").write_text(json.dumps(document))
    app = create_app(tmp_path, validate_responses=True)
    assert app.problems == ()
    with TestClient(app) as scoped:
        assert scoped.get("/scopes/users", headers={"Authorization": "Bearer x"}).status_code == 200
        assert scoped.get("/scopes/users").status_code == 401


PLAIN_FAULTS = """
openapi: 3.0.3
info: {title: Shelter, version: '1'}
servers: [{url: /v1}]
components:
  schemas:
    Error:
      type: object
      required: [code, message]
      properties: {code: {type: integer}, message: {type: string}}
    Note:
      type: object
      required: [text]
      properties: {text: {type: string}}
  responses:
    Refused:
      description: Refused
      content:
        application/json: {schema: {$ref: '#/components/schemas/Error'}}
paths:
  /notes:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {allOf: [{$ref: '#/components/schemas/Note'}], nullable: true}
      responses: {'201': {description: Created}, '422': {$ref: '#/components/responses/Refused'}}
  /strict-notes:
    post:
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/Note'}}
      responses: {'201': {description: Created}, '422': {$ref: '#/components/responses/Refused'}}
  /pets/{petId}:
    get:
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer}}
      responses: {'200': {description: Found}, '422': {$ref: '#/components/responses/Refused'}}
  /pets/mine:
    get:
      responses: {'204': {description: Mine}}
  /links:
    get:
      parameters:
        - {name: url, in: query, required: true, schema: {type: string, format: uri}}
      responses: {'204': {description: Fine}, '422': {$ref: '#/components/responses/Refused'}}
"""
NULL_BRANCH_3_1 = """
openapi: 3.1.0
info: {title: Memo, version: '1'}
servers: [{url: /v1}]
components:
  schemas:
    Memo: {type: object, required: [text], properties: {text: {type: string}}}
paths:
  /memos:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf:
                - {$ref: '#/components/schemas/Memo'}
                - {type: 'null'}
      responses: {'201': {description: Created}}
"""


@pytest.fixture(scope="module", params=[False, True], ids=["fast-path", "slow-path"])
def faults(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    directory = tmp_path_factory.mktemp("faults")
    (directory / "shelter.yaml").write_text(PLAIN_FAULTS)
    (directory / "memo.yaml").write_text(NULL_BRANCH_3_1)
    app = create_app(directory, validate_responses=True, slow_path=request.param)
    with TestClient(app) as test_client:
        yield test_client


def _null(client: TestClient, path: str) -> Any:
    return client.post(path, content=b"null", headers={"Content-Type": "application/json"})


def test_a_null_body_is_accepted_where_the_schema_allows_null(faults: TestClient) -> None:
    assert _null(faults, "/shelter/v1/notes").status_code == 201  # 3.0 `nullable: true`
    assert _null(faults, "/memo/v1/memos").status_code == 201  # 3.1 `null` branch
    assert _null(faults, "/shelter/v1/strict-notes").status_code == 422
    assert faults.post("/memo/v1/memos", json={"text": 5}).status_code == 400


def test_a_path_parameter_of_the_wrong_type_is_the_operations_invalid_request(
    faults: TestClient,
) -> None:
    wrong = faults.get("/shelter/v1/pets/abc")
    assert wrong.status_code == 422  # the declared 422, not the 404 of an unknown route
    assert "petId" in wrong.json()["message"]
    assert faults.get("/shelter/v1/pets/7").status_code == 200
    assert faults.get("/shelter/v1/pets/mine").status_code == 204  # concrete before templated
    assert faults.get("/shelter/v1/kittens/abc").status_code == 404


def test_the_declared_422_body_names_the_status_sent(faults: TestClient) -> None:
    refused = faults.post("/shelter/v1/strict-notes", json={"text": 5})
    assert refused.status_code == 422
    assert refused.json()["code"] == 422


@pytest.mark.parametrize("url", ["a:<b>", "https://x.example/%zz", "relative/path", "a:b#c#d"])
def test_format_uri_is_enforced_on_a_plain_document(faults: TestClient, url: str) -> None:
    assert faults.get("/shelter/v1/links", params={"url": url}).status_code == 422
    fine = faults.get("/shelter/v1/links", params={"url": "https://x.example/a?b=1#c"})
    assert fine.status_code == 204


REPORT = {
    "openapi": "3.0.3",
    "info": {"title": "Reports", "version": "1"},
    "servers": [{"url": "https://reports.example/v1"}],
    "paths": {
        "/report": {
            "get": {
                "responses": {
                    "200": {
                        "description": "the report",
                        "content": {
                            "application/json": {
                                "schema": {"type": "object"},
                                "example": {"rows": 1},
                            },
                            "text/csv": {"schema": {"type": "string"}, "example": "id\n1\n"},
                        },
                    }
                }
            }
        }
    },
}


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("text/csv, application/json", "application/json"),  # a tie: JSON first
        ("application/json;q=0.1, text/csv", "text/csv"),
        ("application/json;q=0, */*;q=0.5", "text/csv"),
        ("text/*;q=0.2, text/csv;q=0, application/*;q=0.1", "application/json"),
        ("image/png", "application/json"),  # none allowed: never a 406 here
    ],
)
def test_the_media_type_follows_accept_weights(
    tmp_path: Path, accept: str | None, media_type: str
) -> None:
    (tmp_path / "reports.yaml").write_text(json.dumps(REPORT))
    headers = {"Accept": accept} if accept else {}
    with TestClient(create_app(tmp_path, validate_responses=True)) as client:
        response = client.get("/reports/v1/report", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
