"""Create, read back, update and delete, and the fields the server sets (ids, times, counts)."""

import time
from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from mockserver import errors
from tests.mockserver.conftest import (
    FINHUB,
    FINHUB_ID,
    FINX,
    FINX_ID,
    FINX_RESOURCES,
    KONTORION,
    RFC3339_Z,
    UUID,
    advance_clock,
    bearer,
    finhub_headers,
    finhub_initiate,
    finhub_upload,
    finx_body,
    kontorion_body,
    set_clock,
)

STORE_BACKENDS = ("memory", "file", "redis")  # each test runs on every store

FINX_RESOURCE_NAMES = {"customer-verifications": "customer_verification", "kyc": "kyc_record"}


def _rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- FinX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", FINX_RESOURCES)
@pytest.mark.parametrize("encoding", ["data", "json"])
def test_finx_create_reads_back_the_same_fields(
    client: TestClient, resource: str, encoding: str
) -> None:
    body = finx_body(document_type="driver's license", document_number="D-1")
    created = client.post(f"{FINX}/{resource}", headers=bearer("test_crud"), **{encoding: body})
    assert created.status_code == 200, created.text
    record = created.json()
    assert {k: record[k] for k in body} == body
    assert FINX_ID.match(record["id"])
    assert isinstance(record["created_at"], int)
    assert record["updated_at"] == record["created_at"]
    assert abs(record["created_at"] - time.time()) < 60
    read = client.get(f"{FINX}/{resource}/{record['id']}", headers=bearer("test_crud"))
    assert read.status_code == 200
    assert read.json() == record


@pytest.mark.parametrize("resource", FINX_RESOURCES)
def test_finx_create_ids_are_unique(client: TestClient, resource: str) -> None:
    ids = {
        client.post(f"{FINX}/{resource}", headers=bearer("test_ids"), data=finx_body()).json()["id"]
        for _ in range(20)
    }
    assert len(ids) == 20


@pytest.mark.parametrize("resource", FINX_RESOURCES)
@pytest.mark.parametrize("encoding", ["data", "json"])
def test_finx_update_changes_fields_and_moves_updated_at(
    client: TestClient, resource: str, encoding: str
) -> None:
    set_clock(client, "upd", "2024-01-15T10:30:00Z")
    record = client.post(f"{FINX}/{resource}", headers=bearer("test_upd"), data=finx_body()).json()
    assert record["created_at"] == 1705314600
    advance_clock(client, "upd", 90)
    change = {"verification_status": "verified", "document_type": "id_card"}
    updated = client.put(
        f"{FINX}/{resource}/{record['id']}", headers=bearer("test_upd"), **{encoding: change}
    )
    assert updated.status_code == 200, updated.text
    expected = {**record, **change, "updated_at": record["created_at"] + 90}
    assert updated.json() == expected
    read = client.get(f"{FINX}/{resource}/{record['id']}", headers=bearer("test_upd"))
    assert read.json() == expected


@pytest.mark.parametrize("resource", FINX_RESOURCES)
def test_finx_delete_then_404(client: TestClient, resource: str) -> None:
    headers = bearer("test_del")
    record = client.post(f"{FINX}/{resource}", headers=headers, data=finx_body()).json()
    url = f"{FINX}/{resource}/{record['id']}"
    deleted = client.delete(url, headers=headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    message = errors.RECORD_NOT_FOUND.format(
        resource=FINX_RESOURCE_NAMES[resource], id=record["id"]
    )
    for response in (
        client.get(url, headers=headers),
        client.put(url, headers=headers, data={"document_type": "x"}),
        client.delete(url, headers=headers),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "resource_missing",
            "message": message,
            "status": 404,
        }
    listed = client.get(f"{FINX}/{resource}", headers=headers).json()["data"]
    assert record["id"] not in [item["id"] for item in listed]


def test_finx_resources_are_separate_collections(client: TestClient) -> None:
    headers = bearer("test_sep")
    record = client.post(f"{FINX}/kyc", headers=headers, data=finx_body()).json()
    assert client.get(f"{FINX}/kyc/{record['id']}", headers=headers).status_code == 200
    assert (
        client.get(f"{FINX}/customer-verifications/{record['id']}", headers=headers).status_code
        == 404
    )


# -- Kontorion ----------------------------------------------------------------------------------


def test_kontorion_create_sets_server_fields(client: TestClient) -> None:
    set_clock(client, "kcr", "2024-01-15T10:30:00Z")
    created = client.post(
        f"{KONTORION}/customer-verifications", headers=bearer("test_kcr"), json=kontorion_body()
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert {k: data[k] for k in kontorion_body()} == kontorion_body()
    assert UUID.match(data["id"])
    assert UUID.match(data["organization_id"])
    assert UUID.match(data["actor_id"])
    assert data["status"] == "pending"
    assert data["created_at"] == data["updated_at"] == "2024-01-15T10:30:00Z"
    assert data["last_checked_at"] == "2024-01-15T10:30:00Z"
    assert data["expires_at"] == "2024-01-22T10:30:00Z"
    assert data["verified_at"] is None
    assert data["reason"] is None
    assert data["provider_reference"].startswith("prv_")
    read = client.get(
        f"{KONTORION}/customer-verifications/{data['id']}", headers=bearer("test_kcr")
    )
    assert read.status_code == 200
    assert read.json() == {"data": data}


def test_kontorion_timestamps_are_rfc3339_utc(client: TestClient) -> None:
    data = client.post(
        f"{KONTORION}/customer-verifications", headers=bearer("test_kts"), json=kontorion_body()
    ).json()["data"]
    for name in ("created_at", "updated_at", "expires_at", "last_checked_at"):
        assert RFC3339_Z.match(data[name]), (name, data[name])
    assert abs(_rfc3339(data["created_at"]).timestamp() - time.time()) < 60


def test_kontorion_verify_sets_verified_at_and_moves_updated_at(client: TestClient) -> None:
    set_clock(client, "kver", "2024-01-15T10:30:00Z")
    data = client.post(
        f"{KONTORION}/customer-verifications", headers=bearer("test_kver"), json=kontorion_body()
    ).json()["data"]
    advance_clock(client, "kver", 3600)
    patched = client.patch(
        f"{KONTORION}/customer-verifications/{data['id']}/status",
        headers=bearer("admin_kver"),
        json={"status": "verified"},
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()["data"]
    assert after["status"] == "verified"
    assert after["verified_at"] == after["updated_at"] == "2024-01-15T11:30:00Z"
    assert after["expires_at"] == "2025-01-14T11:30:00Z"
    assert after["created_at"] == data["created_at"]
    assert after["actor_id"] != data["actor_id"]  # the admin key acted last
    read = client.get(
        f"{KONTORION}/customer-verifications/{data['id']}", headers=bearer("test_kver")
    )
    assert read.json() == {"data": after}


def test_kontorion_organization_id_is_stable_per_sandbox(client: TestClient) -> None:
    def organization(token: str) -> str:
        response = client.post(
            f"{KONTORION}/customer-verifications", headers=bearer(token), json=kontorion_body()
        )
        return str(response.json()["data"]["organization_id"])

    first = organization("test_orga")
    assert organization("test_orga") == first
    assert organization("admin_orga") == first
    assert organization("test_orgb") != first


# -- FinHub -------------------------------------------------------------------------------------


def test_finhub_initiate_reads_back_as_initiated(client: TestClient) -> None:
    set_clock(client, "fcr", "2024-01-15T10:30:00Z")
    created = client.post(
        f"{FINHUB}/customer/individual/cust_777/verification/initiate",
        headers=finhub_headers("test_fcr"),
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["success"] is True
    data = body["data"]
    assert FINHUB_ID.match(data["verificationId"])
    assert data["status"] == "INITIATED"
    assert data["requiredDocuments"] == ["GOVERNMENT_ID", "PROOF_OF_ADDRESS", "SOURCE_OF_FUNDS"]
    assert data["createdAt"] == "2024-01-15T10:30:00Z"
    read = client.get(
        f"{FINHUB}/verifications/{data['verificationId']}", headers=finhub_headers("test_fcr")
    )
    assert read.status_code == 200
    assert read.json() == {
        "success": True,
        "data": {
            "verificationId": data["verificationId"],
            "status": "INITIATED",
            "customerId": "cust_777",
            "documentsSubmitted": 0,
            "documentsRequired": 3,
            "updatedAt": "2024-01-15T10:30:00Z",
        },
    }


def test_finhub_upload_counts_distinct_document_types(client: TestClient) -> None:
    set_clock(client, "fdoc", "2024-01-15T10:30:00Z")
    vid = finhub_initiate(client, "test_fdoc", "cust_doc")
    counts = []
    for kind in ("GOVERNMENT_ID", "GOVERNMENT_ID", "PROOF_OF_ADDRESS"):
        advance_clock(client, "fdoc", 60)
        uploaded = finhub_upload(client, "test_fdoc", vid, kind)
        assert uploaded.status_code == 200, uploaded.text
        data = uploaded.json()["data"]
        assert data["status"] == "PENDING_DOCUMENTS"
        assert data["documentsRequired"] == 3
        assert data["document"]["documentType"] == kind
        assert data["document"]["fileName"] == f"{kind.lower()}.png"
        assert data["document"]["sizeBytes"] == len(b"fake-scan")
        assert data["document"]["documentId"].startswith("doc_")
        counts.append(data["documentsSubmitted"])
    assert counts == [1, 1, 2]
    read = client.get(f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_fdoc"))
    data = read.json()["data"]
    assert data["documentsSubmitted"] == 2
    assert data["status"] == "PENDING_DOCUMENTS"
    assert data["updatedAt"] == "2024-01-15T10:33:00Z"


def test_finhub_upload_of_same_type_replaces_document(client: TestClient) -> None:
    vid = finhub_initiate(client, "test_frep", "cust_rep")
    first = finhub_upload(client, "test_frep", vid, "GOVERNMENT_ID").json()["data"]["document"]
    second = finhub_upload(client, "test_frep", vid, "GOVERNMENT_ID").json()["data"]["document"]
    assert first["documentId"] != second["documentId"]
    snapshot = client.get("/__mock/snapshot", params={"sandbox": "frep"}).json()["records"]
    (stored,) = [r["record"] for r in snapshot if r["api"] == "finhub"]
    assert stored["documents"] == {"GOVERNMENT_ID": second}


def test_finhub_timestamps_and_updated_at_move_forward(client: TestClient) -> None:
    set_clock(client, "fts", "2024-01-15T10:30:00Z")
    vid = finhub_initiate(client, "test_fts", "cust_ts")
    advance_clock(client, "fts", int(timedelta(minutes=5).total_seconds()))
    finhub_upload(client, "test_fts", vid, "SOURCE_OF_FUNDS")
    data = client.get(f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_fts")).json()
    assert RFC3339_Z.match(data["data"]["updatedAt"])
    assert data["data"]["updatedAt"] == "2024-01-15T10:35:00Z"


def test_finhub_unknown_verification_is_404(client: TestClient) -> None:
    response = client.get(
        f"{FINHUB}/verifications/ver_000000000000", headers=finhub_headers("test_f404")
    )
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": {
            "code": "NOT_FOUND",
            "message": errors.RECORD_NOT_FOUND.format(
                resource="verification", id="ver_000000000000"
            ),
        },
    }
