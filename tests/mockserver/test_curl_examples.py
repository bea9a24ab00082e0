"""Every curl example of the vendors' docs works against the mock with only the host changed.

The commands are those of shared/seeds (000 and 001: Fin X; 003: FinHub), run with the real
`curl` binary; only `https://api.finx.ai` and `https://sandbox.finhub.cloud/api/v2.1` become
the mock's URL (and its `/finx` or `/finhub` mount prefix).
"""

import json
import shutil
import subprocess
from typing import Any

import httpx
import pytest

from tests.mockserver.conftest import FINHUB_ID, FINX_ID, RFC3339_Z, LiveServer

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="the curl binary is not installed")

FINX_HOST = "https://api.finx.ai"
FINHUB_HOST = "https://sandbox.finhub.cloud/api/v2.1"
FINX_FIELDS = {
    "id",
    "customer_id",
    "verification_status",
    "document_type",
    "document_number",
    "created_at",
    "updated_at",
}
FINX_CREATE = [
    "-d", "customer_id=WAz8eIbvDR60rouK",
    "-d", "verification_status=pending",
    "-d", "document_type=passport",
    "-d", "document_number=123456789",
]  # fmt: skip
AUTH = ["-H", "Authorization: Bearer {token}"]


def _curl(live: LiveServer, args: list[str]) -> tuple[int, Any]:
    """Run curl with the docs' host swapped for the mock; returns (status, JSON body or None)."""
    swapped = [
        arg.replace(FINX_HOST, f"{live.url}/finx").replace(
            FINHUB_HOST, f"{live.url}/finhub/api/v2.1"
        )
        for arg in args
    ]
    result = subprocess.run(
        [CURL or "curl", "-sS", "-w", "\n%{http_code}", *swapped],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body) if body.strip() else None


def _reset(live: LiveServer) -> None:
    assert httpx.post(f"{live.url}/__mock/sandboxes/docs/reset").status_code == 204


def _finx_record(record: dict[str, Any]) -> None:
    assert set(record) == FINX_FIELDS
    assert FINX_ID.match(record["id"])
    assert isinstance(record["created_at"], int)


@pytest.mark.parametrize("resource", ["customer-verifications", "kyc"])
def test_curl_finx_examples(live_server: LiveServer, resource: str) -> None:
    url = f"{FINX_HOST}/v1/{resource}"
    item = f"{url}/xgQQXg3hrtjh7AvZ"

    status, listed = _curl(live_server, ["-G", url, *AUTH, "-d", "limit=10"])
    assert status == 200
    assert listed["has_more"] is False
    # The docs' two records (the docs list xgQQ… first; both share one created_at).
    assert {r["id"] for r in listed["data"]} == {"xgQQXg3hrtjh7AvZ", "hSIhXBhNe8X1d8Et"}
    for record in listed["data"]:
        _finx_record(record)

    status, created = _curl(live_server, [url, *AUTH, *FINX_CREATE])
    assert status == 200
    _finx_record(created)
    assert created["verification_status"] == "pending"
    assert created["customer_id"] == "WAz8eIbvDR60rouK"

    status, retrieved = _curl(live_server, [item, *AUTH])
    assert status == 200
    assert retrieved == {
        "id": "xgQQXg3hrtjh7AvZ",
        "customer_id": "WAz8eIbvDR60rouK",
        "verification_status": "verified",
        "document_type": "passport",
        "document_number": "123456789",
        "created_at": 705103200,
        "updated_at": 705103200,
    }

    # The documented PUT sets `verified`: the record already is (a repeat, no transition).
    status, updated = _curl(
        live_server, ["-X", "PUT", item, *AUTH, "-d", "verification_status=verified"]
    )
    assert status == 200
    _finx_record(updated)
    assert updated["verification_status"] == "verified"

    status, deleted = _curl(live_server, ["-X", "DELETE", item, *AUTH])
    assert status == 204
    assert deleted is None
    status, _ = _curl(live_server, [item, *AUTH])
    assert status == 404
    _reset(live_server)
    status, _ = _curl(live_server, [item, *AUTH])
    assert status == 200


def test_curl_finx_put_on_a_pending_record(live_server: LiveServer) -> None:
    item = f"{FINX_HOST}/v1/kyc/hSIhXBhNe8X1d8Et"
    status, updated = _curl(
        live_server, ["-X", "PUT", item, *AUTH, "-d", "verification_status=verified"]
    )
    assert status == 200
    assert updated["verification_status"] == "verified"
    _reset(live_server)


def test_curl_finhub_examples(live_server: LiveServer) -> None:
    _reset(live_server)
    base = FINHUB_HOST
    user = ["-H", "Authorization: Bearer YOUR_ACCESS_TOKEN", "-H", "X-Tenant-ID: YOUR_TENANT_ID"]

    status, initiated = _curl(
        live_server,
        [
            "-X", "POST", f"{base}/customer/individual/cust_12345/verification/initiate",
            *user,
            "-H", "X-Forwarded-For: 192.168.1.100",
            "-H", "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
        ],
    )  # fmt: skip
    assert status == 200
    assert initiated["success"] is True
    assert set(initiated["data"]) == {"verificationId", "status", "requiredDocuments", "createdAt"}
    assert FINHUB_ID.match(initiated["data"]["verificationId"])
    assert initiated["data"]["status"] == "INITIATED"
    assert initiated["data"]["requiredDocuments"] == [
        "GOVERNMENT_ID",
        "PROOF_OF_ADDRESS",
        "SOURCE_OF_FUNDS",
    ]
    assert RFC3339_Z.match(initiated["data"]["createdAt"])

    submit_body = json.dumps(
        {
            "verificationType": "STANDARD",
            "verificationData": {"documentType": "PASSPORT", "documentNumber": "AB123456"},
        }
    )
    status, submitted = _curl(
        live_server,
        [
            "-X", "POST", f"{base}/customer/individual/cust_12345/verification",
            *user, "-H", "Content-Type: application/json", "-d", submit_body,
        ],
    )  # fmt: skip
    assert status == 200
    assert submitted["success"] is True
    assert set(submitted["data"]) == {"verificationId", "status", "submittedAt"}
    assert submitted["data"]["verificationId"] == initiated["data"]["verificationId"]
    assert submitted["data"]["status"] == "PENDING_REVIEW"

    status, got = _curl(live_server, ["-X", "GET", f"{base}/verifications/ver_12345", *user])
    assert status == 200
    assert got == {
        "success": True,
        "data": {
            "verificationId": "ver_12345",
            "status": "PENDING_REVIEW",
            "customerId": "cust_12345",
            "documentsSubmitted": 3,
            "documentsRequired": 3,
            "updatedAt": "2024-01-15T11:00:00Z",
        },
    }

    approve_body = json.dumps(
        {
            "approvedBy": "tenant-admin",
            "approvalReason": "Documents verified, identity confirmed",
            "approvalLevel": "TENANT_VERIFIED",
            "notes": "All documents match, address verified",
            "adminNotes": "Standard approval - medium risk customer",
        }
    )
    status, approved = _curl(
        live_server,
        [
            "-X", "POST", f"{base}/verifications/ver_abc123def456/approve",
            "-H", "Authorization: Bearer ADMIN_ACCESS_TOKEN",
            "-H", "X-Tenant-ID: tenant_cloudvault",
            "-H", "Content-Type: application/json",
            "-d", approve_body,
        ],
    )  # fmt: skip
    assert status == 200
    assert approved["code"] == 200
    assert approved["message"] == "Verification approved successfully"
    data = approved["data"]
    assert {k: data[k] for k in ("verificationId", "status", "approvalLevel", "approvedBy")} == {
        "verificationId": "ver_abc123def456",
        "status": "APPROVED",
        "approvalLevel": "TENANT_VERIFIED",
        "approvedBy": "tenant-admin",
    }
    assert data["customerId"] == "cust_123456"
    assert data["customerStatus"] == "VERIFIED"
    assert data["nextStep"] == "ACTIVATION"
    assert RFC3339_Z.match(data["approvedAt"])
    _reset(live_server)
