"""Bad requests get the vendor's error envelope with the right status, never a 500."""

import re

import httpx
import pytest
from starlette.testclient import TestClient

from kycspec.loader import HTTP_METHODS, load_all
from mockserver import errors
from mockserver.edge import DEFAULT_MAX_BODY_BYTES
from tests.mockserver.conftest import (
    FINHUB,
    FINX,
    KONTORION,
    LiveServer,
    bearer,
    finhub_headers,
    finhub_initiate,
)

SPECS = load_all()
PREFIX = {"finx": "/finx", "kontorion": "/kontorion", "finhub": "/finhub/api/v2.1"}
# A POST with a JSON body for each API, and the headers it needs.
POSTS = {
    "finx": (f"{FINX}/kyc", bearer("test_err")),
    "kontorion": (f"{KONTORION}/customer-verifications", bearer("test_err")),
    "finhub": (f"{FINHUB}/customer/individual/cust_e/verification", finhub_headers("test_err")),
}


def _code(api: str, body: dict[str, object]) -> object:
    return body["code"] if api == "kontorion" else body["error"]["code"]  # type: ignore[index]


def _message(api: str, body: dict[str, object]) -> object:
    return body["detail"] if api == "kontorion" else body["error"]["message"]  # type: ignore[index]


@pytest.mark.parametrize("api", list(POSTS))
def test_errors_invalid_json_is_400(client: TestClient, api: str) -> None:
    path, headers = POSTS[api]
    if api == "finhub":
        finhub_initiate(client, "test_err", "cust_e")
    response = client.post(
        path, headers={**headers, "Content-Type": "application/json"}, content=b'{"a": '
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == SPECS[api].errors.media_type
    assert _code(api, response.json()) == SPECS[api].errors.code("invalid_request")


@pytest.mark.parametrize("api", list(POSTS))
def test_errors_invalid_utf8_is_400(client: TestClient, api: str) -> None:
    path, headers = POSTS[api]
    if api == "finhub":
        finhub_initiate(client, "test_err", "cust_e")
    response = client.post(
        path, headers={**headers, "Content-Type": "application/json"}, content=b'{"a": "\xff\xfe"}'
    )
    assert response.status_code == 400
    assert _message(api, response.json()) == errors.BODY_NOT_UTF8


def test_errors_invalid_utf8_form_is_400(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_err", **{"Content-Type": "application/x-www-form-urlencoded"}),
        content=b"customer_id=\xff\xfe",
    )
    assert response.status_code == 400


@pytest.mark.parametrize("api", list(POSTS))
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_errors_wrong_content_type_is_415(client: TestClient, api: str, content_type: str) -> None:
    path, headers = POSTS[api]
    response = client.post(path, headers={**headers, "Content-Type": content_type}, content=b"x")
    assert response.status_code == 415
    assert _code(api, response.json()) == SPECS[api].errors.code("unsupported_media_type")


def test_errors_finhub_upload_must_be_multipart(client: TestClient) -> None:
    vid = finhub_initiate(client, "test_err", "cust_up")
    response = client.post(
        f"{FINHUB}/verifications/{vid}/documents",
        headers=finhub_headers("test_err"),
        json={"documentType": "GOVERNMENT_ID"},
    )
    assert response.status_code == 415


@pytest.mark.parametrize("limit", ["0", "-1", "101", "99999999999999999999", "ten", "1.5"])
def test_errors_bad_finx_limit_is_400(client: TestClient, limit: str) -> None:
    response = client.get(f"{FINX}/kyc", headers=bearer("test_err"), params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_invalid"


def test_errors_missing_required_field_is_400(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc", headers=bearer("test_err"), data={"customer_id": "WAz8eIbvDR60rouK"}
    )
    assert response.status_code == 400


def test_errors_unknown_field_is_400(client: TestClient) -> None:
    response = client.put(
        f"{FINX}/kyc/xgQQXg3hrtjh7AvZ", headers=bearer("{token}"), json={"colour": "blue"}
    )
    assert response.status_code == 400


def test_errors_finhub_missing_compliance_headers_is_400(client: TestClient) -> None:
    response = client.post(
        f"{FINHUB}/customer/individual/cust_h/verification/initiate",
        headers=bearer("test_err", **{"X-Tenant-ID": "t1"}),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


def test_errors_oversized_body_is_413(client: TestClient) -> None:
    body = b"document_type=" + b"x" * DEFAULT_MAX_BODY_BYTES
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_err", **{"Content-Type": "application/x-www-form-urlencoded"}),
        content=body,
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": errors.BODY_TOO_LARGE.format(limit=DEFAULT_MAX_BODY_BYTES),
        "status": 413,
    }


def test_errors_body_at_the_limit_is_not_413(client: TestClient) -> None:
    body = b"{" + b" " * (DEFAULT_MAX_BODY_BYTES - 2) + b"}"
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_err", **{"Content-Type": "application/json"}),
        content=body,
    )
    assert response.status_code == 400  # read in full, then refused as incomplete


def test_errors_oversized_chunked_body_is_413(live_server: LiveServer) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(DEFAULT_MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536

    response = httpx.post(
        f"{live_server.url}{FINX}/kyc",
        headers=bearer("test_err", **{"Content-Type": "application/json"}),
        content=chunks(),
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("api", list(PREFIX))
def test_errors_unknown_path_under_an_api_is_404_in_vendor_envelope(
    client: TestClient, api: str
) -> None:
    response = client.get(f"{PREFIX[api]}/v9/nothing-here", headers=bearer("test_err"))
    assert response.status_code == 404
    assert response.headers["content-type"] == SPECS[api].errors.media_type
    assert _code(api, response.json()) == SPECS[api].errors.code("not_found")


def test_errors_unknown_top_level_path_is_problem_json(client: TestClient) -> None:
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert {api["name"] for api in body["apis"]} == set(SPECS)


def _method_cases() -> list[object]:
    cases = []
    for api, spec in SPECS.items():
        for path, item in spec.document["paths"].items():
            declared = {m.upper() for m in HTTP_METHODS if m in item}
            if "GET" in declared:
                declared.add("HEAD")
            url = (
                PREFIX[api].removesuffix("/api/v2.1")
                + spec.base_path
                + re.sub(r"\{[^}]+\}", "ver_12345", path)
            )
            refused = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in declared)
            cases.append(pytest.param(api, url, refused, declared, id=f"{api} {refused} {path}"))
    return cases


@pytest.mark.parametrize(("api", "url", "method", "declared"), _method_cases())
def test_errors_unknown_method_is_405_with_allow(
    client: TestClient, api: str, url: str, method: str, declared: set[str]
) -> None:
    response = client.request(method, url, headers=finhub_headers("test_err"))
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == declared
    assert _code(api, response.json()) == SPECS[api].errors.code("method_not_allowed")


def test_errors_allow_header_of_finx_kyc(client: TestClient) -> None:
    response = client.patch(f"{FINX}/kyc", headers=bearer("test_err"))
    assert response.status_code == 405
    assert sorted(m.strip() for m in response.headers["allow"].split(",")) == [
        "GET",
        "HEAD",
        "POST",
    ]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", f"{FINX}/kyc/{'x' * 65}", {}),
        ("GET", f"{FINX}/kyc?starting_after=", {}),
        ("GET", f"{KONTORION}/customer-verifications/not-a-uuid", {}),
        ("GET", f"{KONTORION}/customer-verifications?cursor=%00%ff", {}),
        (
            "POST",
            f"{FINX}/kyc",
            {"content": b"\x00\x01", "headers": {"Content-Type": "application/json"}},
        ),
        ("POST", f"{FINX}/kyc", {"json": []}),
        ("POST", f"{FINX}/kyc", {"json": "text"}),
        ("POST", f"{KONTORION}/customer-verifications", {"json": None}),
        ("PUT", f"{FINX}/kyc/xgQQXg3hrtjh7AvZ", {"json": {"verification_status": None}}),
    ],
)
def test_errors_garbage_never_500(
    client: TestClient, method: str, path: str, kwargs: dict[str, object]
) -> None:
    headers = {**bearer("{token}"), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    response = client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert 400 <= response.status_code < 500, response.text


def test_errors_chunked_body_within_limit_is_accepted(live_server: LiveServer) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"customer_id": "WAz8eIbvDR60rouK", "verification_status": "pending", '
        yield b'"document_type": "passport", "document_number": "1"}'

    response = httpx.post(
        f"{live_server.url}{FINX}/kyc",
        headers=bearer("test_chunk", **{"Content-Type": "application/json"}),
        content=chunks(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["document_number"] == "1"


def test_control_plane_method_not_allowed_lists_the_declared_methods(client: TestClient) -> None:
    response = client.delete("/__mock/reset")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    response = client.post("/__mock/sandboxes/alice/clock")
    assert set(response.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE", "HEAD"}


def test_messages_name_a_resource_without_guessing_its_article() -> None:
    """`A idDoc`: an article before a resource name is guessed wrong for half the names."""
    templates = [
        value
        for name, value in vars(errors).items()
        if name.isupper() and isinstance(value, str) and "{resource}" in value
    ]
    assert len(templates) > 3
    assert [t for t in templates if re.search(r"\b[Aa]n? \{resource\}", t)] == []
