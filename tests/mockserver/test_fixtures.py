"""Fixtures are stored as creates would store them, and every error names where and what."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app
from mockserver.fixtures import FixtureError, read_fixtures
from tests.mockserver.conftest import (
    CONTROL,
    KONTORION,
    KONTORION_CUSTOMER,
    RFC3339_Z,
    UUID,
    bearer,
)

CREATE_BODY = {
    "customer_id": KONTORION_CUSTOMER,
    "verification_type": "kyc",
    "provider": "sandbox_pending",
    "check_type": "document",
}


def _entry(record: dict[str, Any], sandbox: str = "fx") -> dict[str, Any]:
    return {"sandbox": sandbox, "api": "kontorion", "resource": "verification", "record": record}


def _file(tmp_path: Path, *records: dict[str, Any]) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump({"records": [_entry(r) for r in records]}))
    return path


def test_a_minimal_fixture_gets_every_server_field_a_create_gets(tmp_path: Path) -> None:
    app = create_app(fixtures=read_fixtures(_file(tmp_path, CREATE_BODY)), validate_responses=True)
    with TestClient(app) as client:
        created = client.post(
            f"{KONTORION}/customer-verifications", headers=bearer("test_fx"), json=CREATE_BODY
        ).json()["data"]
        listed = client.get(f"{KONTORION}/customer-verifications", headers=bearer("test_fx"))
    assert listed.status_code == 200
    seeded = next(r for r in listed.json()["data"] if r["id"] != created["id"])
    assert set(seeded) == set(created)
    for same in ("organization_id", "actor_id", "status", "verified_at", "reason"):
        assert seeded[same] == created[same], same
    assert UUID.match(seeded["id"])
    assert RFC3339_Z.match(seeded["created_at"]) and RFC3339_Z.match(seeded["updated_at"])
    assert seeded["status"] == "pending"


def test_a_fixture_keeps_its_own_values_and_gets_its_state_s_entry_fields(
    tmp_path: Path,
) -> None:
    record = {**CREATE_BODY, "status": "verified", "created_at": "2024-01-15T10:30:00Z"}
    app = create_app(fixtures=read_fixtures(_file(tmp_path, record)))
    (stored,) = app.server.export("fx")
    assert stored.record["status"] == "verified"
    assert stored.record["created_at"] == "2024-01-15T10:30:00Z"
    assert stored.record["verified_at"] is not None


def test_a_fixture_may_repeat_its_sandbox_s_organization_but_not_another(tmp_path: Path) -> None:
    app = create_app(fixtures=read_fixtures(_file(tmp_path, CREATE_BODY)))
    own = app.server.export("fx")[0].record["organization_id"]
    path = _file(tmp_path, CREATE_BODY, {**CREATE_BODY, "organization_id": own})
    assert len(create_app(fixtures=read_fixtures(path)).server.export("fx")) == 2
    other = "5e7a9c1b-2d4f-4a6c-8e0b-1d3f5a7c9e2b"
    path = _file(tmp_path, CREATE_BODY, {**CREATE_BODY, "organization_id": other})
    with pytest.raises(FixtureError) as refused:
        create_app(fixtures=read_fixtures(path))
    expected = errors.FIXTURE_CALLER_OWNED.format(
        resource="verification", field="organization_id", value=other, expected=own, sandbox="fx"
    )
    assert str(refused.value) == f"{path} records[1]: {expected}"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({k: v for k, v in CREATE_BODY.items() if k != "provider"}, "provider"),
        ({**CREATE_BODY, "verification_type": 5}, "verification_type"),
        ({**CREATE_BODY, "status": "nope"}, "status"),
        ({**CREATE_BODY, "result_payload": []}, "result_payload"),
    ],
)
def test_every_fixture_error_names_the_file_the_record_and_the_field(
    tmp_path: Path, record: dict[str, Any], field: str
) -> None:
    path = _file(tmp_path, CREATE_BODY, record)
    with pytest.raises(FixtureError) as refused:
        create_app(fixtures=read_fixtures(path))
    prefix = f"{path} records[1]: " + errors.FIXTURE_FIELD.split("{problem}")[0]
    assert str(refused.value).startswith(prefix.format(resource="verification", field=field))


def test_control_plane_fixture_errors_name_the_record_and_the_field(client: TestClient) -> None:
    body = {"records": [_entry(CREATE_BODY), _entry({**CREATE_BODY, "verification_type": 5})]}
    response = client.post(f"{CONTROL}/fixtures", json=body)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("records[1]: verification record, field verification_type: ")
