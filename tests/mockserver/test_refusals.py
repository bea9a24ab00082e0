"""Refusals with the statuses and envelopes a spec's `x-errors` declares (`statuses`,
`bodies`), and read-only states that are not terminal, on the `thing` lifecycle of
tests/conformance/thingspec.py: `submitThing` moves an open thing to `processing`, the clock
to `done` (terminal, read-only)."""

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app
from tests.conformance.thingspec import lifecycle_document
from tests.mockserver.conftest import advance_clock
from tests.tinyspec import write_spec

BASE = "/v1/things"


def _client(tmp_path: Path, document: dict[str, Any]) -> TestClient:
    write_spec(tmp_path, document)
    return TestClient(create_app(tmp_path, api="tiny", validate_responses=True))


def _key(**extra: str) -> dict[str, str]:
    return {"Authorization": "Bearer test_refusals", **extra}


def _thing(client: TestClient) -> str:
    response = client.post(BASE, headers=_key(), json={"name": "a"})
    assert response.status_code == 201
    return str(response.json()["id"])


def _stripe_like(statuses: dict[str, int]) -> dict[str, Any]:
    document = lifecycle_document()
    document["x-errors"].update(
        statuses=statuses,
        codes={"invalid_transition": "unexpected_state"},
        bodies={"idempotency_key_reused": {"error": "$code"}},
    )
    document["x-idempotency"] = {"header": "Idempotency-Key"}
    return document


@pytest.mark.parametrize(("statuses", "expected"), [({}, 409), ({"invalid_transition": 400}, 400)])
def test_refusals_an_undeclared_move_has_the_declared_status(
    tmp_path: Path, statuses: dict[str, int], expected: int
) -> None:
    client = _client(tmp_path, _stripe_like(statuses))
    thing = _thing(client)
    assert client.post(f"{BASE}/{thing}/submit", headers=_key()).status_code == 200
    again = client.post(f"{BASE}/{thing}/submit", headers=_key())
    assert again.status_code == expected
    message = errors.TRANSITION_REFUSED.format(
        resource="thing", source="processing", target="processing"
    )
    assert again.json() == {"error": message}


def test_refusals_a_read_only_state_refuses_with_the_declared_status(tmp_path: Path) -> None:
    client = _client(tmp_path, _stripe_like({"invalid_transition": 400}))
    thing = _thing(client)
    client.post(f"{BASE}/{thing}/submit", headers=_key())
    advance_clock(client, "refusals", 10)
    assert client.get(f"{BASE}/{thing}", headers=_key()).json()["status"] == "done"
    refused = client.post(f"{BASE}/{thing}", headers=_key(), data={"name": "b"})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": errors.READ_ONLY_REFUSED.format(resource="thing", id=thing, state="done")
    }


@pytest.mark.parametrize(
    ("statuses", "expected"), [({}, 400), ({"idempotency_key_reused": 422}, 422)]
)
def test_refusals_a_reused_idempotency_key_has_its_kind_status_and_body(
    tmp_path: Path, statuses: dict[str, int], expected: int
) -> None:
    client = _client(tmp_path, _stripe_like(statuses))
    headers = _key(**{"Idempotency-Key": "k1"})
    first = client.post(BASE, headers=headers, json={"name": "a"})
    other = client.post(BASE, headers=headers, json={"name": "b"})
    assert first.status_code == 201
    assert other.status_code == expected
    # the kind's own body template, with the kind's code (its name: no code declared)
    assert other.json() == {"error": "idempotency_key_reused"}


def _finishing(document: dict[str, Any]) -> dict[str, Any]:
    """`finishThing` moves a processing thing to done, as Stripe's cancel leaves a state."""
    submit = document["paths"]["/things/{id}/submit"]["post"]
    finish = {**submit, "operationId": "finishThing"}
    finish["x-operation"] = {**submit["x-operation"], "target": "done"}
    document["paths"]["/things/{id}/finish"] = {"post": finish}
    lifecycle = document["x-resources"]["thing"]["lifecycle"]
    lifecycle["transitions"].append(
        {"from": ["processing"], "to": "done", "via": {"operation": "finishThing"}}
    )
    return document


def test_refusals_a_read_only_state_that_is_not_terminal_takes_only_declared_moves(
    tmp_path: Path,
) -> None:
    document = _finishing(lifecycle_document(read_only=("processing", "done"), terminal=("done",)))
    client = _client(tmp_path, document)
    open_thing, thing = _thing(client), _thing(client)
    # updates pass while the record is not read-only
    updated = client.post(f"{BASE}/{open_thing}", headers=_key(), data={"name": "b"})
    assert updated.status_code == 200
    client.post(f"{BASE}/{thing}/submit", headers=_key())
    refused = client.post(f"{BASE}/{thing}", headers=_key(), data={"name": "b"})
    assert refused.status_code == 409
    assert refused.json() == {
        "error": errors.READ_ONLY_REFUSED.format(resource="thing", id=thing, state="processing")
    }
    again = client.post(f"{BASE}/{thing}/submit", headers=_key())
    assert again.status_code == 409 and "'processing'" in again.json()["error"]
    finished = client.post(f"{BASE}/{thing}/finish", headers=_key())
    assert (finished.status_code, finished.json()["status"]) == (200, "done")
    assert client.get(f"{BASE}/{thing}", headers=_key()).json()["name"] == "a"
