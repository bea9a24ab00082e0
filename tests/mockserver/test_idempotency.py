"""Idempotency keys (Stripe's semantics) and merge-patch updates, on examples/specs/inquire.yaml."""

import base64
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
BASE = "/inquire/v1"
BODY = {
    "reference_id": "user_1",
    "name_first": "Jane",
    "address": {"city": "Leeds", "country_code": "GB"},
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(EXAMPLES, validate_responses=True))


def _key(sandbox: str, **extra: str) -> dict[str, str]:
    basic = base64.b64encode(f"test_{sandbox}:".encode()).decode()
    return {"Authorization": f"Basic {basic}", **extra}


def _count(client: TestClient, sandbox: str) -> int:
    return len(client.get(f"{BASE}/inquiries", headers=_key(sandbox)).json()["data"])


def test_idempotency_same_key_and_body_answers_once(client: TestClient) -> None:
    headers = _key("i1", **{"Idempotency-Key": "k1"})
    first = client.post(f"{BASE}/inquiries", headers=headers, json=BODY)
    again = client.post(f"{BASE}/inquiries", headers=headers, json=BODY)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert _count(client, "i1") == 1


def test_idempotency_same_key_other_body_is_400(client: TestClient) -> None:
    headers = _key("i2", **{"Idempotency-Key": "k1"})
    client.post(f"{BASE}/inquiries", headers=headers, json=BODY)
    other = client.post(f"{BASE}/inquiries", headers=headers, json={**BODY, "name_first": "Joan"})
    assert other.status_code == 400
    assert other.json()["errors"][0]["detail"] == errors.IDEMPOTENCY_KEY_REUSED.format(key="k1")
    assert _count(client, "i2") == 1


def test_idempotency_keys_are_per_sandbox_and_optional(client: TestClient) -> None:
    client.post(f"{BASE}/inquiries", headers=_key("i3", **{"Idempotency-Key": "k"}), json=BODY)
    client.post(f"{BASE}/inquiries", headers=_key("i4", **{"Idempotency-Key": "k"}), json=BODY)
    client.post(f"{BASE}/inquiries", headers=_key("i3"), json=BODY)
    client.post(f"{BASE}/inquiries", headers=_key("i3"), json=BODY)
    assert (_count(client, "i3"), _count(client, "i4")) == (3, 1)


def test_merge_patch_removes_nulls_and_merges_nested_objects(client: TestClient) -> None:
    created = client.post(f"{BASE}/inquiries", headers=_key("i5"), json=BODY).json()
    inquiry = created["data"]["attributes"]["id"]
    headers = _key("i5", **{"Content-Type": "application/merge-patch+json"})
    patch = b'{"name_first": null, "address": {"city": null, "postal_code": "LS1"}}'
    response = client.patch(f"{BASE}/inquiries/{inquiry}", headers=headers, content=patch)
    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert "name_first" not in attributes
    assert attributes["address"] == {"postal_code": "LS1", "country_code": "GB"}


def test_merge_patch_operation_refuses_plain_json(client: TestClient) -> None:
    created = client.post(f"{BASE}/inquiries", headers=_key("i6"), json=BODY).json()
    inquiry = created["data"]["attributes"]["id"]
    response = client.patch(
        f"{BASE}/inquiries/{inquiry}", headers=_key("i6"), json={"name_first": "x"}
    )
    assert response.status_code == 415
