"""Lifecycles as the specs declare them: allowed moves, refused ones, terminal states, the clock."""

import itertools

import pytest
from starlette.testclient import TestClient

from kycspec.loader import load_all
from mockserver import errors
from tests.mockserver.conftest import (
    FINHUB,
    FINX,
    KONTORION,
    advance_clock,
    bearer,
    finhub_headers,
    finhub_initiate,
    finhub_submit,
    finhub_upload,
    finx_body,
    kontorion_body,
    set_clock,
)

STORE_BACKENDS = ("memory", "file", "redis")  # each test runs on every store

SPECS = load_all()
FINX_RESOURCES = {"customer-verifications": "customer_verification", "kyc": "kyc_record"}
FINX_UPDATE = {"customer-verifications": "updateCustomerVerification", "kyc": "updateKycRecord"}
FINX_STATES = ("pending", "verified", "failed")
KONTORION_STATUS = "updateCustomerVerificationStatus"
APPROVE = {"approvedBy": "tenant-admin", "approvalLevel": "TENANT_VERIFIED"}
APPROVE_POWER = {"approvedBy": "power-tenant", "approvalLevel": "POWER_TENANT_VERIFIED"}
REJECT = {"rejectedBy": "tenant-admin", "rejectionReason": "Document photo is blurred"}


def _allowed(api: str, resource: str, source: str, target: str, operation: str) -> bool:
    lifecycle = SPECS[api].resources[resource].lifecycle
    assert lifecycle is not None
    return lifecycle.find(source, target, operation) is not None


def _refused(resource: str, source: str, target: str) -> str:
    return errors.TRANSITION_REFUSED.format(resource=resource, source=source, target=target)


# -- FinX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", FINX_RESOURCES)
@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s, t in itertools.product(FINX_STATES, FINX_STATES) if s != t],
)
def test_finx_lifecycle_follows_the_declared_transitions(
    client: TestClient, resource: str, source: str, target: str
) -> None:
    headers = bearer("test_flc")
    record = client.post(
        f"{FINX}/{resource}", headers=headers, data=finx_body(verification_status=source)
    ).json()
    assert record["verification_status"] == source
    url = f"{FINX}/{resource}/{record['id']}"
    response = client.put(url, headers=headers, data={"verification_status": target})
    if _allowed("finx", FINX_RESOURCES[resource], source, target, FINX_UPDATE[resource]):
        assert response.status_code == 200, response.text
        assert response.json()["verification_status"] == target
    else:
        assert response.status_code == 409
        assert response.json()["error"] == {
            "code": "invalid_status_transition",
            "message": _refused(FINX_RESOURCES[resource], source, target),
            "status": 409,
        }
        assert client.get(url, headers=headers).json() == record


def test_finx_lifecycle_table_matches_the_docs_decision() -> None:
    lifecycle = SPECS["finx"].resources["kyc_record"].lifecycle
    assert lifecycle is not None
    moves = {(s, t.target) for t in lifecycle.transitions for s in t.sources}
    assert moves == {("pending", "verified"), ("pending", "failed"), ("failed", "pending")}
    assert set(lifecycle.terminal) == {"verified"}


@pytest.mark.parametrize("state", FINX_STATES)
def test_finx_lifecycle_same_status_is_no_transition(client: TestClient, state: str) -> None:
    headers = bearer("test_fsame")
    record = client.post(
        f"{FINX}/kyc", headers=headers, data=finx_body(verification_status=state)
    ).json()
    response = client.put(
        f"{FINX}/kyc/{record['id']}",
        headers=headers,
        data={"verification_status": state, "document_number": "42"},
    )
    assert response.status_code == 200
    assert response.json()["document_number"] == "42"


def test_finx_lifecycle_verified_stays_terminal(client: TestClient) -> None:
    headers = bearer("test_fterm")
    record = client.post(f"{FINX}/kyc", headers=headers, data=finx_body()).json()
    url = f"{FINX}/kyc/{record['id']}"
    verified = client.put(url, headers=headers, json={"verification_status": "verified"})
    assert verified.status_code == 200
    for target in ("pending", "failed"):
        response = client.put(url, headers=headers, json={"verification_status": target})
        assert response.status_code == 409
    assert client.get(url, headers=headers).json()["verification_status"] == "verified"


def test_finx_lifecycle_retry_after_failure(client: TestClient) -> None:
    headers = bearer("test_fretry")
    record = client.post(f"{FINX}/kyc", headers=headers, data=finx_body()).json()
    url = f"{FINX}/kyc/{record['id']}"
    statuses = []
    for target in ("failed", "pending", "verified"):
        response = client.put(url, headers=headers, data={"verification_status": target})
        statuses.append((response.status_code, response.json()["verification_status"]))
    assert statuses == [(200, "failed"), (200, "pending"), (200, "verified")]


# -- Kontorion ----------------------------------------------------------------------------------

# The status override's body enum: `pending` is no target.
KONTORION_TARGETS = ("verified", "failed", "expired")
PROVIDER_FOR = {"pending": "acme", "verified": "sandbox_verified", "failed": "sandbox_failed"}


def _kontorion_in(client: TestClient, token: str, state: str) -> str:
    """A Kontorion verification in `state` (expired: via the clock)."""
    provider = "sandbox_expiring" if state == "expired" else PROVIDER_FOR[state]
    created = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer(token),
        json=kontorion_body(provider=provider),
    ).json()["data"]
    if state == "expired":
        advance_clock(client, token.split("_", 1)[1], 61)
    return str(created["id"])


@pytest.mark.parametrize(
    ("source", "target"),
    list(itertools.product(("pending", "verified", "failed", "expired"), KONTORION_TARGETS)),
)
def test_kontorion_lifecycle_follows_the_declared_transitions(
    client: TestClient, source: str, target: str
) -> None:
    vid = _kontorion_in(client, "test_klc", source)
    url = f"{KONTORION}/customer-verifications/{vid}"
    assert client.get(url, headers=bearer("test_klc")).json()["data"]["status"] == source
    response = client.patch(f"{url}/status", headers=bearer("admin_klc"), json={"status": target})
    # An action (the `transition` role) to the state the record is already in is refused too,
    # unless declared: a second approval is not a no-op the way a repeated PUT field is.
    allowed = _allowed("kontorion", "verification", source, target, KONTORION_STATUS)
    expected = 200 if allowed else 409
    assert response.status_code == expected, response.text
    if expected == 409:
        assert response.json()["detail"] == _refused("verification", source, target)
        assert response.json()["code"] == "invalid_status_transition"
        assert client.get(url, headers=bearer("test_klc")).json()["data"]["status"] == source
    else:
        assert response.json()["data"]["status"] == target


def test_kontorion_lifecycle_terminal_states_have_no_way_out() -> None:
    lifecycle = SPECS["kontorion"].resources["verification"].lifecycle
    assert lifecycle is not None
    assert set(lifecycle.terminal) == {"failed", "expired"}
    sources = {s for t in lifecycle.transitions for s in t.sources}
    assert not sources & {"failed", "expired"}


def test_kontorion_lifecycle_failed_sets_reason(client: TestClient) -> None:
    vid = _kontorion_in(client, "test_kfail", "pending")
    response = client.patch(
        f"{KONTORION}/customer-verifications/{vid}/status",
        headers=bearer("admin_kfail"),
        json={"status": "failed"},
    )
    assert response.json()["data"]["reason"] == "rejected"


def test_kontorion_lifecycle_expiring_verification_expires_with_the_clock(
    client: TestClient,
) -> None:
    set_clock(client, "kexp", "2024-01-15T10:30:00Z")
    created = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_kexp"),
        json=kontorion_body(provider="sandbox_expiring"),
    ).json()["data"]
    assert created["status"] == "verified"
    assert created["expires_at"] == "2024-01-15T10:31:00Z"
    url = f"{KONTORION}/customer-verifications/{created['id']}"
    advance_clock(client, "kexp", 59)
    assert client.get(url, headers=bearer("test_kexp")).json()["data"]["status"] == "verified"
    advance_clock(client, "kexp", 2)
    data = client.get(url, headers=bearer("test_kexp")).json()["data"]
    assert data["status"] == "expired"
    assert data["updated_at"] == "2024-01-15T10:31:00Z"
    listed = client.get(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_kexp"),
        params={"status": "expired"},
    ).json()["data"]
    assert [item["id"] for item in listed] == [created["id"]]


def test_kontorion_lifecycle_pending_expires_after_seven_days(client: TestClient) -> None:
    set_clock(client, "kexp7", "2024-01-15T10:30:00Z")
    vid = _kontorion_in(client, "test_kexp7", "pending")
    url = f"{KONTORION}/customer-verifications/{vid}"
    advance_clock(client, "kexp7", 7 * 86400 - 1)
    assert client.get(url, headers=bearer("test_kexp7")).json()["data"]["status"] == "pending"
    advance_clock(client, "kexp7", 1)
    assert client.get(url, headers=bearer("test_kexp7")).json()["data"]["status"] == "expired"


def test_kontorion_lifecycle_verified_expiry_moves_to_a_year(client: TestClient) -> None:
    set_clock(client, "kyear", "2024-01-15T10:30:00Z")
    vid = _kontorion_in(client, "test_kyear", "pending")
    url = f"{KONTORION}/customer-verifications/{vid}"
    client.patch(f"{url}/status", headers=bearer("admin_kyear"), json={"status": "verified"})
    advance_clock(client, "kyear", 30 * 86400)  # well past the pending expiry
    assert client.get(url, headers=bearer("test_kyear")).json()["data"]["status"] == "verified"
    advance_clock(client, "kyear", 336 * 86400)
    assert client.get(url, headers=bearer("test_kyear")).json()["data"]["status"] == "expired"


# -- FinHub -------------------------------------------------------------------------------------


def test_finhub_lifecycle_full_flow_to_approved(client: TestClient) -> None:
    set_clock(client, "fflow", "2026-01-13T09:55:00Z")
    vid = finhub_initiate(client, "test_fflow", "cust_flow")
    for kind in ("GOVERNMENT_ID", "PROOF_OF_ADDRESS", "SOURCE_OF_FUNDS"):
        advance_clock(client, "fflow", 60)
        assert finhub_upload(client, "test_fflow", vid, kind).status_code == 200
    advance_clock(client, "fflow", 60)
    submitted = finhub_submit(client, "test_fflow", "cust_flow")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json() == {
        "success": True,
        "data": {
            "verificationId": vid,
            "status": "PENDING_REVIEW",
            "submittedAt": "2026-01-13T09:59:00Z",
        },
    }
    advance_clock(client, "fflow", 60)
    approved = client.post(
        f"{FINHUB}/verifications/{vid}/approve",
        headers=finhub_headers("admin_fflow"),
        json={**APPROVE, "approvalReason": "ok", "notes": "n", "adminNotes": "a"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json() == {
        "code": 200,
        "message": "Verification approved successfully",
        "data": {
            "verificationId": vid,
            "status": "APPROVED",
            "approvalLevel": "TENANT_VERIFIED",
            "approvedBy": "tenant-admin",
            "approvedAt": "2026-01-13T10:00:00Z",
            "customerId": "cust_flow",
            "customerStatus": "VERIFIED",
            "nextStep": "ACTIVATION",
        },
    }
    status = client.get(f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_fflow"))
    assert status.json()["data"] | {"updatedAt": None} == {
        "verificationId": vid,
        "status": "APPROVED",
        "customerId": "cust_flow",
        "documentsSubmitted": 3,
        "documentsRequired": 3,
        "updatedAt": None,
    }


def test_finhub_lifecycle_submit_straight_from_initiated(client: TestClient) -> None:
    vid = finhub_initiate(client, "test_fdirect", "cust_direct")
    submitted = finhub_submit(client, "test_fdirect", "cust_direct")
    assert submitted.status_code == 200
    assert submitted.json()["data"]["verificationId"] == vid
    assert submitted.json()["data"]["status"] == "PENDING_REVIEW"


def test_finhub_lifecycle_submit_acts_on_the_newest_verification(client: TestClient) -> None:
    finhub_initiate(client, "test_fnew", "cust_new")
    newest = finhub_initiate(client, "test_fnew", "cust_new")
    submitted = finhub_submit(client, "test_fnew", "cust_new")
    assert submitted.json()["data"]["verificationId"] == newest


def test_finhub_lifecycle_reject_flow(client: TestClient) -> None:
    vid = finhub_initiate(client, "test_frej", "cust_rej")
    finhub_submit(client, "test_frej", "cust_rej")
    rejected = client.post(
        f"{FINHUB}/verifications/{vid}/reject", headers=finhub_headers("admin_frej"), json=REJECT
    )
    assert rejected.status_code == 200, rejected.text
    data = rejected.json()["data"]
    assert rejected.json()["code"] == 200
    assert data["status"] == "REJECTED"
    assert data["customerStatus"] == "REJECTED"
    assert data["rejectedBy"] == REJECT["rejectedBy"]
    assert data["rejectionReason"] == REJECT["rejectionReason"]
    status = client.get(f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_frej"))
    assert status.json()["data"]["rejectionReason"] == REJECT["rejectionReason"]


@pytest.mark.parametrize("final", ["APPROVED", "REJECTED"])
def test_finhub_lifecycle_terminal_states_stay_terminal(client: TestClient, final: str) -> None:
    vid = finhub_initiate(client, "test_fend", "cust_end")
    finhub_submit(client, "test_fend", "cust_end")
    action, body = ("approve", APPROVE) if final == "APPROVED" else ("reject", REJECT)
    url = f"{FINHUB}/verifications/{vid}"
    assert client.post(
        f"{url}/{action}", headers=finhub_headers("admin_fend"), json=body
    ).is_success
    attempts = {
        "APPROVED": client.post(
            f"{url}/approve", headers=finhub_headers("admin_fend"), json=APPROVE
        ),
        "REJECTED": client.post(f"{url}/reject", headers=finhub_headers("admin_fend"), json=REJECT),
        "PENDING_DOCUMENTS": finhub_upload(client, "test_fend", vid, "GOVERNMENT_ID"),
        "PENDING_REVIEW": finhub_submit(client, "test_fend", "cust_end"),
    }
    # Repeating the decision is refused as well: terminal states have no transitions at all.
    for target, response in attempts.items():
        assert response.status_code == 409, (target, response.text)
        assert response.json()["error"] == {
            "code": "INVALID_STATUS_TRANSITION",
            "message": _refused("verification", final, target),
        }
    status = client.get(url, headers=finhub_headers("test_fend"))
    assert status.json()["data"]["status"] == final


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_finhub_lifecycle_decision_before_review_is_409(client: TestClient, action: str) -> None:
    vid = finhub_initiate(client, "test_fearly", "cust_early")
    body, target = (APPROVE, "APPROVED") if action == "approve" else (REJECT, "REJECTED")
    response = client.post(
        f"{FINHUB}/verifications/{vid}/{action}", headers=finhub_headers("admin_fearly"), json=body
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == _refused("verification", "INITIATED", target)


def test_finhub_lifecycle_upload_after_submit_is_409(client: TestClient) -> None:
    vid = finhub_initiate(client, "test_flate", "cust_late")
    finhub_submit(client, "test_flate", "cust_late")
    response = finhub_upload(client, "test_flate", vid, "GOVERNMENT_ID")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == _refused(
        "verification", "PENDING_REVIEW", "PENDING_DOCUMENTS"
    )


def test_finhub_lifecycle_upload_of_a_document_not_required_is_refused(client: TestClient) -> None:
    guard = next(
        g
        for t in SPECS["finhub"].resources["verification"].lifecycle.transitions
        for g in t.guards
        if t.operation == "uploadVerificationDocument"
    )
    vid = finhub_initiate(client, "test_fdoc", "cust_low_doc")  # needs no SOURCE_OF_FUNDS
    response = finhub_upload(client, "test_fdoc", vid, "SOURCE_OF_FUNDS")
    assert response.status_code == guard.status == 422
    assert response.json()["error"] == {"code": guard.code, "message": guard.message}
    status = client.get(f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_fdoc"))
    assert status.json()["data"]["status"] == "INITIATED"
    assert status.json()["data"]["documentsSubmitted"] == 0
    assert finhub_upload(client, "test_fdoc", vid, "PROOF_OF_ADDRESS").status_code == 200


def test_finhub_lifecycle_submit_without_verification_is_404(client: TestClient) -> None:
    response = finhub_submit(client, "test_fnone", "cust_nobody")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == errors.LOOKUP_NOT_FOUND.format(
        resource="verification", field="customerId", value="cust_nobody"
    )


@pytest.mark.parametrize(
    ("customer", "body", "expected"),
    [
        ("cust_high_1", APPROVE, 422),
        ("cust_high_2", APPROVE_POWER, 200),
        ("cust_mid_1", APPROVE, 200),
        ("cust_mid_2", APPROVE_POWER, 200),
        ("cust_low_1", APPROVE, 200),
    ],
)
def test_finhub_lifecycle_risk_matrix(
    client: TestClient, customer: str, body: dict[str, str], expected: int
) -> None:
    vid = finhub_initiate(client, "test_frisk", customer)
    finhub_submit(client, "test_frisk", customer)
    response = client.post(
        f"{FINHUB}/verifications/{vid}/approve", headers=finhub_headers("admin_frisk"), json=body
    )
    assert response.status_code == expected, response.text
    status = client.get(f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_frisk"))
    if expected == 422:
        guard = SPECS["finhub"].resources["verification"].lifecycle
        assert guard is not None
        (transition,) = [t for t in guard.transitions if t.target == "APPROVED"]
        assert response.json() == {
            "success": False,
            "error": {
                "code": "APPROVAL_LEVEL_INSUFFICIENT",
                "message": transition.guards[0].message,
            },
        }
        assert status.json()["data"]["status"] == "PENDING_REVIEW"
    else:
        assert response.json()["data"]["approvalLevel"] == body["approvalLevel"]
        assert status.json()["data"]["status"] == "APPROVED"
