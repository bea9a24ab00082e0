"""The control plane under /__mock: resets, fixtures, snapshots, clocks and the request log."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from kycspec.loader import load_all, resolve_pointer
from mockserver import errors
from mockserver.app import create_app
from mockserver.control import UNKNOWN_API
from mockserver.fixtures import read_fixtures
from mockserver.sandbox import TokenPolicy
from tests.mockserver.conftest import (
    CONTROL,
    FINHUB,
    FINX,
    FINX_ID,
    KONTORION,
    bearer,
    finhub_headers,
    finhub_initiate,
    finx_body,
    kontorion_body,
)

STORE_BACKENDS = ("memory", "file", "redis")  # each test runs on every store

SPECS = load_all()
DOCS_RECORD = f"{FINX}/kyc/xgQQXg3hrtjh7AvZ"
FIXTURE_RECORD = {
    "id": "Fixture000000001",
    "customer_id": "Customer00000001",
    "verification_status": "pending",
    "document_type": "passport",
    "document_number": "123",
}


def _docs_example() -> Any:
    return resolve_pointer(SPECS["finx"].document, "#/components/examples/VerifiedRecord")["value"]


def test_control_status_lists_apis_sandboxes_and_tokens(client: TestClient) -> None:
    client.get(f"{FINX}/kyc", headers=bearer("test_stat"))
    status = client.get(f"{CONTROL}/").json()
    assert {api["name"] for api in status["apis"]} == set(SPECS)
    assert "stat" in status["sandboxes"]
    assert "{token}" in status["tokens"]


def test_control_docs_fixture_is_served_at_start(client: TestClient) -> None:
    response = client.get(DOCS_RECORD, headers=bearer("{token}"))
    assert response.status_code == 200
    assert response.json() == _docs_example()


def test_control_reset_sandbox_restores_docs_fixtures(client: TestClient) -> None:
    assert client.delete(DOCS_RECORD, headers=bearer("{token}")).status_code == 204
    assert client.get(DOCS_RECORD, headers=bearer("{token}")).status_code == 404
    assert client.post(f"{CONTROL}/sandboxes/docs/reset").status_code == 204
    response = client.get(DOCS_RECORD, headers=bearer("{token}"))
    assert response.status_code == 200
    assert response.json() == _docs_example()


def test_control_reset_sandbox_leaves_others_alone(client: TestClient) -> None:
    mine = client.post(f"{FINX}/kyc", headers=bearer("test_ra"), data=finx_body()).json()
    other = client.post(f"{FINX}/kyc", headers=bearer("test_rb"), data=finx_body()).json()
    assert client.post(f"{CONTROL}/sandboxes/ra/reset").status_code == 204
    assert client.get(f"{FINX}/kyc/{mine['id']}", headers=bearer("test_ra")).status_code == 404
    assert client.get(f"{FINX}/kyc/{other['id']}", headers=bearer("test_rb")).status_code == 200


def test_control_reset_all_clears_every_sandbox(client: TestClient) -> None:
    a = client.post(f"{FINX}/kyc", headers=bearer("test_rall_a"), data=finx_body()).json()
    b = client.post(
        f"{KONTORION}/customer-verifications", headers=bearer("test_rall_b"), json=kontorion_body()
    ).json()["data"]
    client.delete(DOCS_RECORD, headers=bearer("{token}"))
    assert client.post(f"{CONTROL}/reset").status_code == 204
    assert client.get(f"{FINX}/kyc/{a['id']}", headers=bearer("test_rall_a")).status_code == 404
    kontorion = client.get(
        f"{KONTORION}/customer-verifications/{b['id']}", headers=bearer("test_rall_b")
    )
    assert kontorion.status_code == 404
    assert client.get(DOCS_RECORD, headers=bearer("{token}")).status_code == 200


def test_control_fixtures_load_records_into_a_sandbox(client: TestClient) -> None:
    document = {
        "records": [
            {"sandbox": "fx", "api": "finx", "resource": "kyc_record", "record": FIXTURE_RECORD},
            {
                "sandbox": "fx",
                "api": "finhub",
                "resource": "verification",
                "partition": {"header.X-Tenant-ID": "t9"},
                "record": {"verificationId": "ver_fixture00001", "customerId": "cust_fx"},
            },
        ]
    }
    loaded = client.post(f"{CONTROL}/fixtures", json=document)
    assert loaded.status_code == 200, loaded.text
    stored = loaded.json()["records"][0]["record"]
    assert isinstance(stored["created_at"], int)  # server fields completed
    read = client.get(f"{FINX}/kyc/{FIXTURE_RECORD['id']}", headers=bearer("test_fx"))
    assert read.status_code == 200
    assert read.json() == stored
    finhub = client.get(
        f"{FINHUB}/verifications/ver_fixture00001", headers=finhub_headers("test_fx", "t9")
    )
    assert finhub.status_code == 200
    assert finhub.json()["data"]["status"] == "INITIATED"


def test_control_fixtures_refuse_a_bad_document(client: TestClient) -> None:
    bad_record = {
        "records": [
            {
                "sandbox": "fx",
                "api": "finx",
                "resource": "kyc_record",
                "record": {**FIXTURE_RECORD, "verification_status": "nope"},
            }
        ]
    }
    for document in (
        {"records": [{"sandbox": "fx", "api": "nope", "resource": "kyc_record", "record": {}}]},
        {"records": [{"sandbox": "fx", "api": "finx", "resource": "nope", "record": {}}]},
        bad_record,
        {"nothing": []},
    ):
        response = client.post(f"{CONTROL}/fixtures", json=document)
        assert response.status_code == 400, document
        assert response.headers["content-type"] == "application/problem+json"
    nothing = client.get(f"{FINX}/kyc/{FIXTURE_RECORD['id']}", headers=bearer("test_fx"))
    assert nothing.status_code == 404


def test_control_snapshot_round_trip(client: TestClient) -> None:
    finx = client.post(f"{FINX}/kyc", headers=bearer("test_snap"), data=finx_body()).json()
    kontorion = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_snap"),
        json=kontorion_body(provider="sandbox_verified"),
    ).json()["data"]
    vid = finhub_initiate(client, "test_snap", "cust_snap", tenant="tsnap")
    exported = client.get(f"{CONTROL}/snapshot", params={"sandbox": "snap"})
    assert exported.status_code == 200
    snapshot = exported.json()
    assert len(snapshot["records"]) == 3
    assert client.post(f"{CONTROL}/sandboxes/snap/reset").status_code == 204
    assert client.get(f"{FINX}/kyc/{finx['id']}", headers=bearer("test_snap")).status_code == 404
    imported = client.put(f"{CONTROL}/snapshot", json=snapshot)
    assert imported.status_code == 200, imported.text
    assert client.get(f"{FINX}/kyc/{finx['id']}", headers=bearer("test_snap")).json() == finx
    read = client.get(
        f"{KONTORION}/customer-verifications/{kontorion['id']}", headers=bearer("test_snap")
    )
    assert read.json() == {"data": kontorion}
    status = client.get(
        f"{FINHUB}/verifications/{vid}", headers=finhub_headers("test_snap", "tsnap")
    )
    assert status.status_code == 200
    assert client.get(f"{CONTROL}/snapshot", params={"sandbox": "snap"}).json() == snapshot


def test_control_snapshot_import_replaces_named_sandboxes_only(client: TestClient) -> None:
    kept = client.post(f"{FINX}/kyc", headers=bearer("test_keep"), data=finx_body()).json()
    dropped = client.post(f"{FINX}/kyc", headers=bearer("test_swap"), data=finx_body()).json()
    snapshot = {
        "records": [
            {"sandbox": "swap", "api": "finx", "resource": "kyc_record", "record": FIXTURE_RECORD}
        ]
    }
    assert client.put(f"{CONTROL}/snapshot", json=snapshot).status_code == 200
    assert client.get(f"{FINX}/kyc/{dropped['id']}", headers=bearer("test_swap")).status_code == 404
    assert client.get(f"{FINX}/kyc/{kept['id']}", headers=bearer("test_keep")).status_code == 200
    listed = client.get(f"{FINX}/kyc", headers=bearer("test_swap")).json()["data"]
    assert [item["id"] for item in listed] == [FIXTURE_RECORD["id"]]


def test_control_snapshot_export_all_sandboxes(client: TestClient) -> None:
    client.post(f"{FINX}/kyc", headers=bearer("test_exa"), data=finx_body())
    records = client.get(f"{CONTROL}/snapshot").json()["records"]
    assert {"docs", "exa"} <= {record["sandbox"] for record in records}


def test_control_clock_get_set_advance_reset(client: TestClient) -> None:
    url = f"{CONTROL}/sandboxes/clk/clock"
    fresh = client.get(url).json()
    assert fresh["sandbox"] == "clk"
    assert fresh["frozen"] is False
    assert abs(fresh["offset_seconds"]) < 1
    frozen = client.put(url, json={"now": "2024-01-15T10:30:00Z", "frozen": True}).json()
    assert frozen["frozen"] is True
    assert frozen["now"].startswith("2024-01-15T10:30:00")
    advanced = client.post(f"{url}/advance", json={"seconds": 3600}).json()
    assert advanced["now"].startswith("2024-01-15T11:30:00")
    created = client.post(f"{FINX}/kyc", headers=bearer("test_clk"), data=finx_body()).json()
    assert created["created_at"] == 1705318200  # 2024-01-15T11:30:00Z
    other = client.post(f"{FINX}/kyc", headers=bearer("test_clk2"), data=finx_body()).json()
    assert other["created_at"] > 1705318200  # each sandbox has its own clock
    running = client.put(url, json={"now": "2030-01-01T00:00:00Z"}).json()
    assert running["frozen"] is False
    assert running["offset_seconds"] > 0
    reset = client.delete(url).json()
    assert reset["frozen"] is False
    assert reset["offset_seconds"] == 0


def test_control_clock_refuses_bad_input(client: TestClient) -> None:
    url = f"{CONTROL}/sandboxes/clk/clock"
    assert client.put(url, json={"now": "soon"}).status_code == 400
    assert client.post(f"{url}/advance", json={"seconds": -5}).status_code == 400
    assert client.get(f"{CONTROL}/sandboxes/bad name!/clock").status_code == 400


def test_control_request_log_shows_and_clears_requests(client: TestClient) -> None:
    client.get(f"{FINX}/kyc", headers=bearer("test_log"))
    client.get(f"{FINX}/kyc/missing", headers=bearer("test_log"))
    client.get(f"{FINX}/kyc", headers=bearer("bogus"))
    client.get(f"{FINX}/kyc", headers=bearer("test_quiet"))
    logged = client.get(f"{CONTROL}/requests", params={"sandbox": "log"}).json()["data"]
    assert [(e["method"], e["path"], e["status"], e["sandbox"], e["api"]) for e in logged] == [
        ("GET", f"{FINX}/kyc", 200, "log", "finx"),
        ("GET", f"{FINX}/kyc/missing", 404, "log", "finx"),
    ]
    everything = client.get(f"{CONTROL}/requests").json()["data"]
    assert [(e["sandbox"], e["status"]) for e in everything] == [
        ("log", 200),
        ("log", 404),
        (None, 401),
        ("quiet", 200),
    ]
    assert client.delete(f"{CONTROL}/requests").status_code == 204
    assert client.get(f"{CONTROL}/requests").json()["data"] == []


def test_control_request_log_limit_keeps_the_newest(client: TestClient) -> None:
    for n in range(5):
        client.get(f"{FINX}/kyc", headers=bearer("test_lim"), params={"limit": n + 1})
    logged = client.get(f"{CONTROL}/requests", params={"limit": 2}).json()["data"]
    assert [entry["query"] for entry in logged] == ["limit=4", "limit=5"]


def test_control_fixtures_file_is_loaded_at_start_and_after_reset(tmp_path: Path) -> None:
    path = tmp_path / "fixtures.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "records": [
                    {
                        "sandbox": "seeded",
                        "api": "finx",
                        "resource": "kyc_record",
                        "record": FIXTURE_RECORD,
                    }
                ]
            }
        )
    )
    app = create_app(fixtures=read_fixtures(path), validate_responses=True)
    with TestClient(app) as client:
        url = f"{FINX}/kyc/{FIXTURE_RECORD['id']}"
        assert client.get(url, headers=bearer("test_seeded")).status_code == 200
        assert client.delete(url, headers=bearer("test_seeded")).status_code == 204
        assert client.post(f"{CONTROL}/sandboxes/seeded/reset").status_code == 204
        read = client.get(url, headers=bearer("test_seeded"))
        assert read.status_code == 200
        assert {k: read.json()[k] for k in FIXTURE_RECORD} == FIXTURE_RECORD
        assert client.get(DOCS_RECORD, headers=bearer("{token}")).status_code == 200


def test_control_fixture_ids_are_generated_when_left_out(client: TestClient) -> None:
    record = {k: v for k, v in FIXTURE_RECORD.items() if k != "id"}
    document = {
        "records": [{"sandbox": "gen", "api": "finx", "resource": "kyc_record", "record": record}]
    }
    stored = client.post(f"{CONTROL}/fixtures", json=document).json()["records"][0]["record"]
    assert FINX_ID.match(stored["id"])


@pytest.mark.parametrize(
    "partition", [None, {}, {"header.X-Tenant": "t1"}, {"header.X-Tenant-ID": ""}]
)
def test_control_plane_fixture_without_its_partition_is_refused(
    client: TestClient, partition: dict[str, str] | None
) -> None:
    entry = {
        "sandbox": "parted",
        "api": "finhub",
        "resource": "verification",
        "record": {"customerId": "cust_fixture"},
    }
    if partition is not None:
        entry["partition"] = partition
    response = client.post("/__mock/fixtures", json={"records": [entry]})
    assert response.status_code == 400
    expected = errors.FIXTURE_PARTITION.format(
        resource="verification", expected="header.X-Tenant-ID"
    )
    assert response.json()["detail"] == f"records[0]: {expected}"


def test_control_token_guards_every_operation_but_health_and_the_docs() -> None:
    app = create_app(control_token="ctl-secret")
    with TestClient(app) as guarded:
        assert guarded.get(f"{CONTROL}/health").status_code == 200
        assert guarded.get(f"{CONTROL}/ui/").status_code == 200
        document = guarded.get(f"{CONTROL}/openapi.json").json()
        assert document["security"] == [{"controlToken": []}]
        for headers in ({}, bearer("wrong"), bearer("test_alice")):
            refused = guarded.get(f"{CONTROL}/snapshot", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert refused.headers["content-type"] == "application/problem+json"
        assert guarded.get(f"{CONTROL}/snapshot", headers=bearer("ctl-secret")).status_code == 200
        # the APIs themselves still take sandbox tokens only
        assert guarded.get("/finx/v1/kyc", headers=bearer("test_alice")).status_code == 200


@pytest.mark.parametrize(
    ("token", "api", "answer"),
    [
        ("test_alice", None, {"active": True, "sandbox": "alice", "admin": False}),
        ("admin_alice", "finx", {"active": True, "sandbox": "alice", "admin": True}),
        ("{token}", "finx", {"active": True, "sandbox": "docs", "admin": False}),
        ("nope", None, {"active": False}),
    ],
)
def test_control_introspect_names_the_sandbox_of_a_token(
    client: TestClient, token: str, api: str | None, answer: dict[str, Any]
) -> None:
    form = {"token": token, **({"api": api} if api else {})}
    response = client.post(f"{CONTROL}/introspect", data=form)
    assert response.status_code == 200, response.text
    assert response.json() == answer


def test_control_introspect_follows_the_configured_prefixes() -> None:
    policy = TokenPolicy(user_prefix="dev_", admin_prefix="root_")
    with TestClient(create_app(policy=policy, validate_responses=True)) as client:
        found = client.post(f"{CONTROL}/introspect", data={"token": "root_bob"}).json()
        refused = client.post(f"{CONTROL}/introspect", data={"token": "test_bob"}).json()
    assert found == {"active": True, "sandbox": "bob", "admin": True}
    assert refused == {"active": False}


def test_control_introspect_unknown_api_is_a_400(client: TestClient) -> None:
    response = client.post(f"{CONTROL}/introspect", data={"token": "test_a", "api": "nope"})
    assert response.status_code == 400
    assert response.json()["detail"] == UNKNOWN_API.format(api="nope", known=", ".join(SPECS))


def test_control_fixture_with_a_field_its_resource_lacks_is_refused(client: TestClient) -> None:
    typo = {**FIXTURE_RECORD, "verfication_status": "verified"}
    document = {
        "records": [{"sandbox": "fx", "api": "finx", "resource": "kyc_record", "record": typo}]
    }
    response = client.post(f"{CONTROL}/fixtures", json=document)
    assert response.status_code == 400
    assert (
        errors.FIXTURE_FIELD.format(resource="kyc_record", field="verfication_status", problem="")
        in response.json()["detail"]
    )
    missing = client.get(f"{FINX}/kyc/{FIXTURE_RECORD['id']}", headers=bearer("test_fx"))
    assert missing.status_code == 404
