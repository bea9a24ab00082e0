"""Sandbox magic values (`x-sandbox.magic`): each listed input leads to its documented outcome.

The parametrized test is driven by the specs' own magic lists: it builds a request that meets
each entry's `when`, sends it through every listed operation, and checks the stored record has
the entry's `set` values. The tests after it pin the outcomes the docs promise.
"""

from collections.abc import Callable
from typing import Any

import pytest
from httpx import Response
from starlette.testclient import TestClient

from kycspec.loader import load_all
from kycspec.model import Magic
from tests.mockserver.conftest import (
    FINHUB,
    FINX,
    KONTORION,
    advance_clock,
    bearer,
    finhub_headers,
    finhub_initiate,
    finx_body,
    kontorion_body,
    set_clock,
)

SPECS = load_all()
SANDBOX = "magic"
TOKEN = f"test_{SANDBOX}"
SUBMIT_BODY = {
    "verificationType": "STANDARD",
    "verificationData": {"documentType": "PASSPORT", "documentNumber": "AB123456"},
}

Trigger = Callable[[TestClient, dict[str, Any], dict[str, str]], Response]


def _finx(resource: str) -> Trigger:
    def trigger(client: TestClient, body: dict[str, Any], path: dict[str, str]) -> Response:
        return client.post(f"{FINX}/{resource}", headers=bearer(TOKEN), data=finx_body(**body))

    return trigger


def _kontorion(client: TestClient, body: dict[str, Any], path: dict[str, str]) -> Response:
    return client.post(
        f"{KONTORION}/customer-verifications", headers=bearer(TOKEN), json=kontorion_body(**body)
    )


def _initiate(client: TestClient, body: dict[str, Any], path: dict[str, str]) -> Response:
    customer = path.get("customerId", "cust_plain")
    return client.post(
        f"{FINHUB}/customer/individual/{customer}/verification/initiate",
        headers=finhub_headers(TOKEN),
    )


def _submit(client: TestClient, body: dict[str, Any], path: dict[str, str]) -> Response:
    customer = path.get("customerId", "cust_plain")
    finhub_initiate(client, TOKEN, customer)
    return client.post(
        f"{FINHUB}/customer/individual/{customer}/verification",
        headers=finhub_headers(TOKEN),
        json=_merge(SUBMIT_BODY, body),
    )


TRIGGERS: dict[tuple[str, str], Trigger] = {
    ("finx", "createCustomerVerification"): _finx("customer-verifications"),
    ("finx", "createKycRecord"): _finx("kyc"),
    ("kontorion", "createCustomerVerification"): _kontorion,
    ("finhub", "initiateIndividualVerification"): _initiate,
    ("finhub", "submitIndividualVerification"): _submit,
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _meeting(magic: Magic) -> tuple[dict[str, Any], dict[str, str]]:
    """A request body and path parameters that meet the magic's `when`."""
    body: dict[str, Any] = {}
    path: dict[str, str] = {}
    for where, test in magic.raw["when"].items():
        value = f"{test['prefix']}_42" if isinstance(test, dict) else test
        root, *keys = where.split(".")
        target = body if root == "body" else path
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return body, path


CASES = [
    pytest.param(api, magic, operation, id=f"{api}: {operation}: {magic.description[:40]}")
    for api, spec in SPECS.items()
    for magic in spec.magic
    for operation in magic.operations
]


def test_magic_every_listed_operation_has_a_trigger() -> None:
    assert CASES, "the specs declare magic values"
    for case in CASES:
        api, _, operation = case.values
        assert (api, operation) in TRIGGERS


@pytest.mark.parametrize(("api", "magic", "operation"), CASES)
def test_magic_when_met_stores_the_set_values(
    client: TestClient, api: str, magic: Magic, operation: str
) -> None:
    body, path = _meeting(magic)
    response = TRIGGERS[(api, operation)](client, body, path)
    assert response.is_success, response.text
    snapshot = client.get("/__mock/snapshot", params={"sandbox": SANDBOX}).json()["records"]
    (stored,) = [r["record"] for r in snapshot if r["api"] == api]
    constants = {k: v for k, v in magic.raw["set"].items() if not str(v).startswith("$")}
    assert constants
    assert {k: stored.get(k) for k in constants} == constants


@pytest.mark.parametrize(("api", "magic", "operation"), CASES)
def test_magic_when_not_met_leaves_the_default(
    client: TestClient, api: str, magic: Magic, operation: str
) -> None:
    response = TRIGGERS[(api, operation)](client, {}, {})
    assert response.is_success, response.text
    snapshot = client.get("/__mock/snapshot", params={"sandbox": SANDBOX}).json()["records"]
    stored = [r["record"] for r in snapshot if r["api"] == api]
    constants = {k: v for k, v in magic.raw["set"].items() if not str(v).startswith("$")}
    for record in stored:
        assert {k: record.get(k) for k in constants} != constants


# -- the documented outcomes --------------------------------------------------------------------


@pytest.mark.parametrize("asked", ["pending", "verified", "failed"])
def test_magic_finx_document_number_000000000_always_fails(client: TestClient, asked: str) -> None:
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_fmagic"),
        data=finx_body(verification_status=asked, document_number="000000000"),
    )
    assert response.status_code == 200
    assert response.json()["verification_status"] == "failed"


def test_magic_finx_other_document_numbers_keep_the_asked_status(client: TestClient) -> None:
    response = client.post(
        f"{FINX}/kyc",
        headers=bearer("test_fmagic"),
        data=finx_body(verification_status="verified", document_number="0000000001"),
    )
    assert response.json()["verification_status"] == "verified"


@pytest.mark.parametrize(
    ("provider", "status", "reason", "outcome"),
    [
        ("sandbox_verified", "verified", None, "clear"),
        ("sandbox_failed", "failed", "document_unreadable", "rejected"),
        ("sandbox_expiring", "verified", None, "clear"),
        ("sandbox_pending", "pending", None, None),
    ],
)
def test_magic_kontorion_providers_decide_the_outcome(
    client: TestClient, provider: str, status: str, reason: str | None, outcome: str | None
) -> None:
    response = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_kmagic"),
        json=kontorion_body(provider=provider),
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["status"] == status
    assert data["reason"] == reason
    assert data["result_payload"].get("outcome") == outcome
    assert (data["verified_at"] is not None) == (status == "verified")


def test_magic_kontorion_sandbox_expiring_expires_after_60_seconds(client: TestClient) -> None:
    set_clock(client, "kmexp", "2024-03-01T12:00:00Z")
    data = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_kmexp"),
        json=kontorion_body(provider="sandbox_expiring"),
    ).json()["data"]
    assert data["expires_at"] == "2024-03-01T12:01:00Z"
    advance_clock(client, "kmexp", 60)
    read = client.get(
        f"{KONTORION}/customer-verifications/{data['id']}", headers=bearer("test_kmexp")
    )
    assert read.json()["data"]["status"] == "expired"


@pytest.mark.parametrize(
    ("customer", "required"),
    [
        ("cust_low_7", ["GOVERNMENT_ID", "PROOF_OF_ADDRESS"]),
        ("cust_high_7", ["GOVERNMENT_ID", "PROOF_OF_ADDRESS", "SOURCE_OF_FUNDS"]),
        ("cust_7", ["GOVERNMENT_ID", "PROOF_OF_ADDRESS", "SOURCE_OF_FUNDS"]),
    ],
)
def test_magic_finhub_customer_prefix_decides_required_documents(
    client: TestClient, customer: str, required: list[str]
) -> None:
    response = client.post(
        f"{FINHUB}/customer/individual/{customer}/verification/initiate",
        headers=finhub_headers("test_fhmagic"),
    )
    data = response.json()["data"]
    assert data["requiredDocuments"] == required
    status = client.get(
        f"{FINHUB}/verifications/{data['verificationId']}", headers=finhub_headers("test_fhmagic")
    )
    assert status.json()["data"]["documentsRequired"] == len(required)


def test_magic_finhub_reject0000_rejects_at_submit(client: TestClient) -> None:
    vid = finhub_initiate(client, "test_fhrej", "cust_r")
    response = client.post(
        f"{FINHUB}/customer/individual/cust_r/verification",
        headers=finhub_headers("test_fhrej"),
        json=_merge(SUBMIT_BODY, {"verificationData": {"documentNumber": "REJECT0000"}}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "REJECTED"
    status = client.get(f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_fhrej"))
    assert status.json()["data"]["status"] == "REJECTED"
    assert status.json()["data"]["rejectionReason"] == "Document number failed verification"
