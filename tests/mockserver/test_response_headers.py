"""Declared response headers (kycspec.headers): sent by the mock with the value the spec gives."""

import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kycspec.headers import CONTENT_TYPE, NO_VALUE, VALUE_ON_ERROR
from kycspec.loader import SpecError, build_spec, inline_refs, read_document
from mockserver.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
ONBOARDLY = "/onboardly/v3.6"
KEY = {"Authorization": "Token token=test_headers"}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(EXAMPLES, validate_responses=True))


def test_response_headers_location_and_request_id_on_create(client: TestClient) -> None:
    body = {"first_name": "Jane", "last_name": "Doe"}
    created = client.post(f"{ONBOARDLY}/applicants", headers=KEY, json=body)
    assert created.status_code == 201
    assert created.headers["location"] == f"/v3.6/applicants/{created.json()['id']}"
    first = uuid.UUID(created.headers["x-request-id"])
    again = client.get(created.headers["location"].replace("/v3.6", ONBOARDLY), headers=KEY)
    assert again.status_code == 200
    assert uuid.UUID(again.headers["x-request-id"]) != first
    assert "location" not in again.headers


def test_response_headers_declared_on_an_error_response_are_sent(client: TestClient) -> None:
    missing = client.get(f"{ONBOARDLY}/applicants/{uuid.uuid4()}", headers=KEY)
    assert missing.status_code == 404
    uuid.UUID(missing.headers["x-request-id"])
    no_key = client.get(f"{ONBOARDLY}/applicants")
    assert no_key.status_code == 401
    uuid.UUID(no_key.headers["x-request-id"])


def test_response_headers_examples_are_sent_as_declared(client: TestClient) -> None:
    listed = client.get("/inquire/v1/inquiries", headers={"Authorization": "Basic dGVzdF9oOg=="})
    assert listed.status_code == 200, listed.text
    assert (listed.headers["ratelimit-limit"], listed.headers["ratelimit-remaining"]) == (
        "300",
        "299",
    )


@pytest.mark.parametrize(
    ("code", "header", "message"),
    [
        ("201", {"schema": {"type": "string"}}, NO_VALUE.format(code="201", name="X-Thing")),
        (
            "400",
            {"schema": {"type": "string"}, "x-value": "$now"},
            VALUE_ON_ERROR.format(code="400", name="X-Thing"),
        ),
        ("201", {"schema": {"type": "string"}, "example": "a/b"}, CONTENT_TYPE.format(code="201")),
    ],
)
def test_response_headers_without_a_value_are_refused_at_load(
    code: str, header: dict[str, object], message: str
) -> None:
    document = read_document(EXAMPLES / "onboardly.yaml")
    responses = document["paths"]["/applicants"]["post"]["responses"]
    name = "Content-Type" if message.startswith("response 201 declares") else "X-Thing"
    declared = inline_refs(document, responses[code])  # an error response is a $ref
    responses[code] = {**declared, "headers": {name: header}}
    with pytest.raises(SpecError) as raised:
        build_spec("onboardly", document, source="examples/specs/onboardly.yaml")
    assert message in str(raised.value)
    assert "examples/specs/onboardly.yaml#/paths/~1applicants/post" in str(raised.value)
