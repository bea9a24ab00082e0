"""Prism-style `Prefer` headers (code, example, delay) and CORS for browser frontends."""

import time

import pytest
from starlette.testclient import TestClient

from kycspec.loader import load_all
from mockserver import errors
from mockserver.api import success_examples
from tests.mockserver.conftest import FINHUB, FINX, KONTORION, bearer, finhub_headers

SPECS = load_all()
ORIGIN = "http://localhost:3000"
KONTORION_ITEM = f"{KONTORION}/customer-verifications/8d3e5f7a-1b2c-4d6e-8f9a-0b1c2d3e4f5a"


@pytest.mark.parametrize(
    ("api", "path", "headers"),
    [
        ("finx", f"{FINX}/kyc/xgQQXg3hrtjh7AvZ", bearer("test_pref")),
        ("kontorion", KONTORION_ITEM, bearer("test_pref")),
        ("finhub", f"{FINHUB}/verifications/ver_12345", finhub_headers("test_pref")),
    ],
)
def test_prefer_code_forces_a_declared_error_in_vendor_envelope(
    client: TestClient, api: str, path: str, headers: dict[str, str]
) -> None:
    response = client.get(path, headers={**headers, "Prefer": "code=404"})
    assert response.status_code == 404
    assert response.headers["content-type"] == SPECS[api].errors.media_type
    body = response.json()
    message = body["detail"] if api == "kontorion" else body["error"]["message"]
    code = body["code"] if api == "kontorion" else body["error"]["code"]
    assert message == errors.PREFER_FORCED.format(code=404)
    assert code == SPECS[api].errors.code("not_found")


def test_prefer_code_without_an_error_class_keeps_its_status(client: TestClient) -> None:
    response = client.post(
        f"{FINHUB}/verifications/ver_abc123def456/approve",
        headers={**finhub_headers("admin_p422"), "Prefer": "code=422"},
        json={"approvedBy": "tenant-admin", "approvalLevel": "TENANT_VERIFIED"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": SPECS["finhub"].errors.code("guard_failed"),
        "message": errors.PREFER_FORCED.format(code=422),
    }


def test_prefer_code_of_the_success_status_is_ordinary(client: TestClient) -> None:
    response = client.get(
        f"{FINX}/kyc/xgQQXg3hrtjh7AvZ", headers=bearer("{token}", Prefer="code=200")
    )
    assert response.status_code == 200
    assert response.json()["id"] == "xgQQXg3hrtjh7AvZ"


def test_prefer_code_does_not_touch_state(client: TestClient) -> None:
    forced = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_pstate", Prefer="code=400"),
        data={
            "customer_id": "WAz8eIbvDR60rouK",
            "verification_status": "pending",
            "document_type": "passport",
            "document_number": "1",
        },
    )
    assert forced.status_code == 400
    assert client.get(f"{FINX}/kyc", headers=bearer("test_pstate")).json()["data"] == []


def test_prefer_unknown_code_is_400(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc", headers=bearer("test_pref", Prefer="code=418"))
    assert response.status_code == 400
    declared = ", ".join(
        sorted(str(c) for c in SPECS["finx"].operations["listKycRecords"].raw["responses"])
    )
    assert response.json()["error"]["message"] == errors.PREFER_UNKNOWN_CODE.format(
        code="418", declared=declared
    )


EXAMPLE_CASES = [
    pytest.param("finx", "retrieveKycRecord", f"{FINX}/kyc/anything", bearer("test_ex"), id="finx"),
    pytest.param(
        "finx",
        "listCustomerVerifications",
        f"{FINX}/customer-verifications",
        bearer("test_ex"),
        id="finx-list",
    ),
    pytest.param(
        "finhub",
        "getVerificationStatus",
        f"{FINHUB}/verifications/ver_000000000000",
        finhub_headers("test_ex"),
        id="finhub",
    ),
]


@pytest.mark.parametrize(("api", "operation", "path", "headers"), EXAMPLE_CASES)
def test_prefer_example_returns_the_specs_example(
    client: TestClient, api: str, operation: str, path: str, headers: dict[str, str]
) -> None:
    spec = SPECS[api]
    expected = success_examples(spec, spec.operations[operation])["docs"]
    response = client.get(path, headers={**headers, "Prefer": "example=docs"})
    assert response.status_code == 200
    assert response.json() == expected


def test_prefer_example_of_finx_list_is_the_documented_list(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc", headers=bearer("test_ex", Prefer='example="docs"'))
    assert [item["id"] for item in response.json()["data"]] == [
        "xgQQXg3hrtjh7AvZ",
        "hSIhXBhNe8X1d8Et",
    ]


def test_prefer_unknown_example_is_400(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc", headers=bearer("test_ex", Prefer="example=nope"))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == errors.PREFER_UNKNOWN_EXAMPLE.format(
        name="nope", known="docs"
    )


def test_prefer_still_needs_a_valid_token(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc", headers=bearer("bogus", Prefer="example=docs"))
    assert response.status_code == 401


def test_prefer_delay_delays_the_response(client: TestClient) -> None:
    started = time.perf_counter()
    response = client.get(f"{FINX}/kyc", headers=bearer("test_delay", Prefer="delay=200"))
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert 0.2 <= elapsed < 2.0


def test_prefer_combined_preferences(client: TestClient) -> None:
    started = time.perf_counter()
    response = client.get(
        f"{FINX}/kyc/xgQQXg3hrtjh7AvZ", headers=bearer("test_delay", Prefer="code=404, delay=100")
    )
    assert response.status_code == 404
    assert time.perf_counter() - started >= 0.1


def test_cors_preflight_allows_any_origin(client: TestClient) -> None:
    response = client.options(
        f"{FINX}/kyc",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, prefer",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "prefer" in allowed


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (f"{FINX}/kyc", bearer("test_cors"), 200),
        (f"{FINX}/kyc", {}, 401),
        (f"{FINHUB}/verifications/ver_000000000000", finhub_headers("test_cors"), 404),
        ("/__mock/", {}, 200),
    ],
)
def test_cors_simple_requests_carry_allow_origin(
    client: TestClient, path: str, headers: dict[str, str], status: int
) -> None:
    response = client.get(path, headers={**headers, "Origin": ORIGIN})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)


def test_cors_absent_without_origin(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc", headers=bearer("test_cors"))
    assert "access-control-allow-origin" not in response.headers
