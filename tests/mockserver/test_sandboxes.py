"""Sandboxes: one isolated world per bearer token, tenants inside FinHub, and who may do what."""

from typing import Any

import pytest
from starlette.testclient import TestClient

from kycspec.loader import load_all
from mockserver import errors
from mockserver.sandbox import Caller, TokenPolicy
from tests.mockserver.conftest import (
    FINHUB,
    FINX,
    KONTORION,
    bearer,
    finhub_headers,
    finhub_initiate,
    finhub_submit,
    finx_body,
    kontorion_body,
)

STORE_BACKENDS = ("memory", "file", "redis")  # each test runs on every store

SPECS = load_all()
BEARER_HOW = "'Authorization: Bearer test_<name>'"
# One authenticated GET per API, and the path prefix it lives under.
PROBES = {
    "finx": (f"{FINX}/kyc", {}),
    "kontorion": (f"{KONTORION}/customer-verifications", {}),
    "finhub": (f"{FINHUB}/verifications/ver_000000000000", {"X-Tenant-ID": "t1"}),
}


def _error(api: str, body: dict[str, Any]) -> tuple[str, str]:
    """(code, message) from a vendor's error envelope."""
    if api == "kontorion":
        return body["code"], body["detail"]
    return body["error"]["code"], body["error"]["message"]


def test_sandbox_finx_record_is_404_in_another_sandbox(client: TestClient) -> None:
    record = client.post(f"{FINX}/kyc", headers=bearer("test_iso_a"), data=finx_body()).json()
    url = f"{FINX}/kyc/{record['id']}"
    assert client.get(url, headers=bearer("test_iso_a")).status_code == 200
    assert client.get(url, headers=bearer("test_iso_b")).status_code == 404
    put = client.put(url, headers=bearer("test_iso_b"), data={"document_type": "x"})
    assert put.status_code == 404
    assert client.delete(url, headers=bearer("test_iso_b")).status_code == 404
    assert client.get(f"{FINX}/kyc", headers=bearer("test_iso_b")).json()["data"] == []
    assert client.get(url, headers=bearer("test_iso_a")).json() == record


def test_sandbox_admin_token_opens_the_same_sandbox(client: TestClient) -> None:
    record = client.post(f"{FINX}/kyc", headers=bearer("test_same"), data=finx_body()).json()
    read = client.get(f"{FINX}/kyc/{record['id']}", headers=bearer("admin_same"))
    assert read.status_code == 200
    assert read.json() == record


def test_sandbox_kontorion_record_is_404_in_another_sandbox(client: TestClient) -> None:
    created = client.post(
        f"{KONTORION}/customer-verifications", headers=bearer("test_kiso_a"), json=kontorion_body()
    ).json()["data"]
    url = f"{KONTORION}/customer-verifications/{created['id']}"
    response = client.get(url, headers=bearer("test_kiso_b"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    patched = client.patch(
        f"{url}/status", headers=bearer("admin_kiso_b"), json={"status": "failed"}
    )
    assert patched.status_code == 404
    assert client.get(url, headers=bearer("test_kiso_a")).json()["data"]["status"] == "pending"


def test_sandbox_finhub_record_is_404_in_another_tenant(client: TestClient) -> None:
    vid = finhub_initiate(client, "test_ten", "cust_t", tenant="tenant_a")
    url = f"{FINHUB}/verifications/{vid}"
    assert client.get(url, headers=finhub_headers("test_ten", "tenant_a")).status_code == 200
    other = client.get(url, headers=finhub_headers("test_ten", "tenant_b"))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "NOT_FOUND"
    # Submit looks the customer up inside the tenant too.
    assert finhub_submit(client, "test_ten", "cust_t", tenant="tenant_b").status_code == 404
    assert finhub_submit(client, "test_ten", "cust_t", tenant="tenant_a").status_code == 200


def test_sandbox_finhub_same_tenant_in_another_sandbox_is_404(client: TestClient) -> None:
    vid = finhub_initiate(client, "test_tsa", "cust_t", tenant="shared")
    response = client.get(
        f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_tsb", "shared")
    )
    assert response.status_code == 404


@pytest.mark.parametrize("api", list(PROBES))
@pytest.mark.parametrize("token", ["nonsense", "test_", "test_bad name", "admin_"])
def test_sandbox_invalid_token_is_401_in_vendor_envelope(
    client: TestClient, api: str, token: str
) -> None:
    path, extra = PROBES[api]
    response = client.get(path, headers=bearer(token, **extra))
    assert response.status_code == 401
    assert response.headers["content-type"] == SPECS[api].errors.media_type
    code, message = _error(api, response.json())
    assert code == SPECS[api].errors.code("unauthorized")
    assert message == errors.TOKEN_INVALID.format(user_prefix="test_", how=BEARER_HOW)


@pytest.mark.parametrize("api", list(PROBES))
def test_sandbox_missing_token_is_401_in_vendor_envelope(client: TestClient, api: str) -> None:
    path, extra = PROBES[api]
    response = client.get(path, headers=extra)
    assert response.status_code == 401
    code, message = _error(api, response.json())
    assert code == SPECS[api].errors.code("unauthorized")
    assert message == errors.TOKEN_MISSING.format(how=BEARER_HOW)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_sandbox_basic_auth_is_401(client: TestClient) -> None:
    response = client.get(f"{FINX}/kyc", headers={"Authorization": "Basic dGVzdF9hOg=="})
    assert response.status_code == 401
    message = errors.WRONG_SCHEME.format(sent="Basic", how=BEARER_HOW)
    assert response.json()["error"]["message"] == message


def test_sandbox_kontorion_status_override_needs_admin(client: TestClient) -> None:
    created = client.post(
        f"{KONTORION}/customer-verifications", headers=bearer("test_kadm"), json=kontorion_body()
    ).json()["data"]
    url = f"{KONTORION}/customer-verifications/{created['id']}/status"
    refused = client.patch(url, headers=bearer("test_kadm"), json={"status": "verified"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert refused.json()["detail"] == errors.ADMIN_ONLY.format(admin_prefix="admin_")
    read = client.get(
        f"{KONTORION}/customer-verifications/{created['id']}", headers=bearer("test_kadm")
    )
    assert read.json()["data"]["status"] == "pending"
    allowed = client.patch(url, headers=bearer("admin_kadm"), json={"status": "verified"})
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("approve", {"approvedBy": "tenant-admin", "approvalLevel": "TENANT_VERIFIED"}),
        ("reject", {"rejectedBy": "tenant-admin", "rejectionReason": "blurred"}),
    ],
)
def test_sandbox_finhub_decisions_need_admin(
    client: TestClient, action: str, body: dict[str, str]
) -> None:
    vid = finhub_initiate(client, "test_fadm", "cust_adm")
    assert finhub_submit(client, "test_fadm", "cust_adm").status_code == 200
    url = f"{FINHUB}/verifications/{vid}/{action}"
    refused = client.post(url, headers=finhub_headers("test_fadm"), json=body)
    assert refused.status_code == 403
    assert refused.json() == {
        "success": False,
        "error": {"code": "FORBIDDEN", "message": errors.ADMIN_ONLY.format(admin_prefix="admin_")},
    }
    status = client.get(f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_fadm"))
    assert status.json()["data"]["status"] == "PENDING_REVIEW"
    assert client.post(url, headers=finhub_headers("admin_fadm"), json=body).status_code == 200


def test_sandbox_docs_placeholder_tokens_open_the_docs_sandbox(client: TestClient) -> None:
    finx = client.get(f"{FINX}/kyc/xgQQXg3hrtjh7AvZ", headers=bearer("{token}"))
    assert finx.status_code == 200
    # `test_docs` is the ordinary key of the same `docs` sandbox.
    assert client.get(f"{FINX}/kyc/xgQQXg3hrtjh7AvZ", headers=bearer("test_docs")).json() == (
        finx.json()
    )
    finhub = client.get(
        f"{FINHUB}/verifications/ver_12345",
        headers=finhub_headers("YOUR_ACCESS_TOKEN", "YOUR_TENANT_ID"),
    )
    assert finhub.status_code == 200
    # The user placeholder is no admin; the admin placeholder is.
    approve = {"approvedBy": "tenant-admin", "approvalLevel": "TENANT_VERIFIED"}
    user = client.post(
        f"{FINHUB}/verifications/ver_12345/approve",
        headers=finhub_headers("YOUR_ACCESS_TOKEN", "YOUR_TENANT_ID"),
        json=approve,
    )
    assert user.status_code == 403
    admin = client.post(
        f"{FINHUB}/verifications/ver_12345/approve",
        headers=finhub_headers("ADMIN_ACCESS_TOKEN", "YOUR_TENANT_ID"),
        json=approve,
    )
    assert admin.status_code == 200


def test_sandbox_placeholder_tokens_are_per_api(client: TestClient) -> None:
    # `{token}` is FinX's placeholder; Kontorion declares none.
    response = client.get(f"{KONTORION}/customer-verifications", headers=bearer("{token}"))
    assert response.status_code == 401


def test_sandbox_policy_answers_each_token_the_same_while_it_remembers_and_after() -> None:
    policy = TokenPolicy()
    first = policy.resolve("admin_first")
    assert first == Caller("admin_first", "first", True)
    assert policy.resolve("test_bad name") is None
    for number in range(3000):  # more tokens than it remembers
        assert policy.resolve(f"test_s{number}") == Caller(f"test_s{number}", f"s{number}", False)
    assert policy.resolve("admin_first") == first
    assert policy.resolve("test_bad name") is None
