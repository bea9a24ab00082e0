"""Parent-child resources (examples/specs/onboardly.yaml): checks under an applicant."""

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app
from tests.mockserver.conftest import advance_clock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
BASE = "/onboardly/v3.6"
UNKNOWN = "3f1c2b8e-6a4d-4f5e-9b7a-2c8d1e0f4a6b"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(EXAMPLES, validate_responses=True))


def _key(sandbox: str) -> dict[str, str]:
    return {"Authorization": f"Token token=test_{sandbox}"}


def _applicant(client: TestClient, sandbox: str) -> str:
    body = {"first_name": "Jane", "last_name": "Doe"}
    response = client.post(f"{BASE}/applicants", headers=_key(sandbox), json=body)
    assert response.status_code == 201
    return str(response.json()["id"])


def _check(client: TestClient, sandbox: str, applicant: str) -> Any:
    return client.post(
        f"{BASE}/applicants/{applicant}/checks",
        headers=_key(sandbox),
        json={"report_names": ["document"]},
    )


def test_parents_child_of_an_unknown_parent_is_404(client: TestClient) -> None:
    response = _check(client, "p1", UNKNOWN)
    assert response.status_code == 404
    message = errors.RECORD_NOT_FOUND.format(resource="applicant", id=UNKNOWN)
    assert response.json() == {"error": {"type": "resource_not_found", "message": message}}


def test_parents_child_is_only_found_under_its_own_parent(client: TestClient) -> None:
    mine, other = _applicant(client, "p2"), _applicant(client, "p2")
    check = _check(client, "p2", mine).json()
    assert check["applicant_id"] == mine
    assert (
        client.get(f"{BASE}/applicants/{mine}/checks/{check['id']}", headers=_key("p2")).status_code
        == 200
    )
    assert (
        client.get(
            f"{BASE}/applicants/{other}/checks/{check['id']}", headers=_key("p2")
        ).status_code
        == 404
    )
    listed = client.get(f"{BASE}/applicants/{other}/checks", headers=_key("p2")).json()
    assert (listed["checks"], listed["total_count"]) == ([], 0)


def test_parents_parent_of_another_sandbox_is_invisible(client: TestClient) -> None:
    applicant = _applicant(client, "p3")
    assert _check(client, "p3_other", applicant).status_code == 404


def test_parents_redaction_cascades_and_freezes_the_children(client: TestClient) -> None:
    applicant = _applicant(client, "p4")
    check = _check(client, "p4", applicant).json()
    redacted = client.post(f"{BASE}/applicants/{applicant}/redact", headers=_key("p4"))
    assert redacted.json()["status"] == "redacted"
    read = client.get(f"{BASE}/applicants/{applicant}/checks/{check['id']}", headers=_key("p4"))
    assert (read.json()["status"], read.json()["result"]) == ("redacted", None)
    refused = _check(client, "p4", applicant)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == errors.PARENT_STATE_REFUSED.format(
        resource="check", parent="applicant", state="redacted", allowed="active"
    )


def test_read_only_redacted_records_refuse_every_write(client: TestClient) -> None:
    applicant = _applicant(client, "p7")
    check = _check(client, "p7", applicant).json()
    url = f"{BASE}/applicants/{applicant}"
    before = client.put(url, headers=_key("p7"), json={"email": "jane@example.com"})
    assert before.status_code == 200
    client.post(f"{url}/redact", headers=_key("p7"))
    redacted = client.get(url, headers=_key("p7")).json()
    for response in (
        client.put(url, headers=_key("p7"), json={"first_name": "Janet"}),
        client.post(f"{url}/redact", headers=_key("p7")),
    ):
        assert response.status_code == 409
        assert response.json() == {
            "error": {
                "type": "state_conflict",
                "message": errors.READ_ONLY_REFUSED.format(
                    resource="applicant", id=applicant, state="redacted"
                ),
            }
        }
    assert client.get(url, headers=_key("p7")).json() == redacted
    read = client.get(f"{url}/checks/{check['id']}", headers=_key("p7"))
    assert read.json()["status"] == "redacted"


def test_parents_clock_completes_a_check_with_its_own_values(client: TestClient) -> None:
    applicant = _applicant(client, "p5")
    check = _check(client, "p5", applicant).json()
    advance_clock(client, "p5", 120)
    read = client.get(
        f"{BASE}/applicants/{applicant}/checks/{check['id']}", headers=_key("p5")
    ).json()
    assert (read["status"], read["result"]) == ("complete", "clear")
    assert read["completed_at"] == check["estimated_completion_at"]


def test_feeds_record_every_state_entered(client: TestClient) -> None:
    applicant = _applicant(client, "p6")
    check = _check(client, "p6", applicant).json()
    advance_clock(client, "p6", 120)
    client.post(f"{BASE}/applicants/{applicant}/redact", headers=_key("p6"))
    events = client.get(f"{BASE}/events", headers=_key("p6")).json()
    seen = [(e["action"], e["object"]["id"]) for e in events["events"]]
    assert seen == [
        ("check.redacted", check["id"]),
        ("applicant.redacted", applicant),
        ("check.complete", check["id"]),
        ("check.in_progress", check["id"]),
        ("applicant.active", applicant),
    ]
    assert events["total_count"] == 5
    only = client.get(f"{BASE}/events", headers=_key("p6"), params={"action": "check.complete"})
    assert [e["object"]["status"] for e in only.json()["events"]] == ["complete"]
