"""Declared response headers (kycspec.headers): sent by the mock with the value the spec gives."""

import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kycspec.headers import (
    CONTENT_TYPE,
    NO_VALUE,
    VALUE_ON_ERROR,
    ResponseHeader,
    compile_headers,
    headers_for_status,
)
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


FORMENCODED = Path(__file__).resolve().parents[1] / "data" / "formencoded"
CARD_KEY = {"Authorization": "Bearer test_errors"}


@pytest.mark.parametrize("slow_path", [False, True], ids=["compiled", "slow_path"])
def test_every_error_answer_carries_the_headers_its_spec_declares(slow_path: bool) -> None:
    """Each error response of the spec declares `Request-Id`; the answers whose status the
    operation declares no response for (a 415 to a body-less action, a 405, a 406, an unknown
    path, a 413 refused before the body is read) carry it too, and so does an error forced
    with `Prefer: code=`."""
    app = create_app(FORMENCODED, max_body_bytes=64, slow_path=slow_path)
    with TestClient(app) as client:
        created = client.post("/formencoded/v1/cards", headers=CARD_KEY, data={"holder": "h"})
        assert created.status_code == 200, created.text
        card = f"/formencoded/v1/cards/{created.json()['id']}"
        form = {**CARD_KEY, "Content-Type": "application/x-www-form-urlencoded"}
        answers = {
            "401": client.get("/formencoded/v1/cards"),
            "404": client.get("/formencoded/v1/cards/card_0000000000000000", headers=CARD_KEY),
            "404 path": client.get("/formencoded/v1/nothing", headers=CARD_KEY),
            "405": client.delete(card, headers=CARD_KEY),
            "406": client.get(card, headers={**CARD_KEY, "Accept": "text/html"}),
            "413": client.post(card, headers=form, content=b"active=true&" * 10),
            "415": client.post(f"{card}/close", headers=form, content=b"active=true"),
            "404 forced": client.get(card, headers={**CARD_KEY, "Prefer": "code=404"}),
        }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {name: int(name[:3]) for name in answers}
    for answer in answers.values():
        uuid.UUID(answer.headers["request-id"])


def test_the_headers_of_a_status_come_from_its_code_its_range_default_or_every_error() -> None:
    def declared(*names: str) -> dict[str, object]:
        return {"description": "x", "headers": {n: {"schema": {"type": "integer"}} for n in names}}

    ranged = compile_headers({"200": declared(), "404": declared("A"), "4XX": declared("B")}, 200)
    defaulted = compile_headers({"200": declared(), "default": declared("C", "D")}, 200)
    shared = compile_headers(
        {"200": declared("S"), "400": declared("X", "Y"), "500": declared("y", "Z")}, 200
    )
    unshared = compile_headers({"200": declared(), "400": declared("X"), "409": declared()}, 200)

    def names(headers: dict[int, tuple[ResponseHeader, ...]], status: int) -> list[str]:
        return [header.name for header in headers_for_status(headers, status)]

    assert (names(ranged, 404), names(ranged, 415), names(ranged, 503)) == (["A"], ["B"], [])
    assert (names(defaulted, 200), names(defaulted, 429)) == ([], ["C", "D"])
    assert (names(shared, 415), names(shared, 200), names(unshared, 415)) == (["Y"], ["S"], [])
