"""A request that fails at any step changes nothing (the engine's writes commit last)."""

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from connexion.json_schema import Draft4ResponseValidator
from starlette.testclient import TestClient

from mockserver import api, errors
from mockserver.engine import MockRequest, MockResponse
from mockserver.sandbox import TokenPolicy
from mockserver.validation import compiled
from tests.mockserver.conftest import (
    CONTROL,
    FINX,
    bearer,
    finhub_initiate,
    finhub_submit,
    finx_body,
)


def _snapshot(client: TestClient) -> Any:
    response = client.get(f"{CONTROL}/snapshot")
    assert response.status_code == 200, response.text
    return response.json()


def _finx_record(client: TestClient) -> str:
    response = client.post(f"{FINX}/kyc", headers=bearer("test_atom"), data=finx_body())
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


Write = Callable[[], Any]


def _create(client: TestClient) -> Write:
    return lambda: client.post(f"{FINX}/kyc", headers=bearer("test_atom"), data=finx_body())


def _update(client: TestClient) -> Write:
    path = f"{FINX}/kyc/{_finx_record(client)}"
    return lambda: client.put(path, headers=bearer("test_atom"), json={"document_type": "visa"})


def _delete(client: TestClient) -> Write:
    path = f"{FINX}/kyc/{_finx_record(client)}"
    return lambda: client.delete(path, headers=bearer("test_atom"))


def _transition(client: TestClient) -> Write:
    finhub_initiate(client, "test_atom", "cust_atom")
    return lambda: finhub_submit(client, "test_atom", "cust_atom")


WRITES: dict[str, Callable[[TestClient], Write]] = {
    "create": _create,
    "update": _update,
    "delete": _delete,
    "transition": _transition,
}


@pytest.mark.parametrize("role", list(WRITES))
def test_atomic_failure_after_the_engine_ran_changes_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    write = WRITES[role](client)
    built: list[MockResponse] = []
    original = api.response_for

    def failing(result: MockResponse, validator: Any) -> Any:
        built.append(result)
        raise RuntimeError("injected after the engine ran")

    before = _snapshot(client)
    monkeypatch.setattr(api, "response_for", failing)
    response = write()
    assert response.status_code == 500
    assert [result.status < 300 for result in built] == [True]  # the engine had succeeded
    assert _snapshot(client) == before

    monkeypatch.setattr(api, "response_for", original)
    response = write()  # the same write, not failing, does change the state
    assert response.status_code < 300, response.text
    assert _snapshot(client) != before


def test_atomic_a_record_that_cannot_be_encoded_is_never_stored(client: TestClient) -> None:
    app: Any = client.app
    engine = app.server.engines["finx"]
    op = engine.spec.operations["createKycRecord"]
    caller = TokenPolicy().resolve("test_atom")
    assert caller is not None
    before = _snapshot(client)
    # A lone surrogate, as a body that skipped the JSON intake would carry it.
    request = MockRequest(caller, body=finx_body(document_type="\ud800"))
    with pytest.raises(orjson.JSONEncodeError):
        engine.handle(op, request, lambda result: result)
    assert _snapshot(client) == before


def test_atomic_fixtures_load_all_or_nothing(client: TestClient) -> None:
    before = _snapshot(client)
    good = {"sandbox": "atom", "api": "finx", "resource": "kyc_record", "record": finx_body()}
    bad = {**good, "record": {**finx_body(), "document_number": 5}}
    response = client.post(f"{CONTROL}/fixtures", json={"records": [good, bad]})
    assert response.status_code == 400
    assert _snapshot(client) == before


def test_atomic_snapshot_import_refused_keeps_the_sandbox(client: TestClient) -> None:
    _finx_record(client)
    before = _snapshot(client)
    bad = {"sandbox": "atom", "api": "finx", "resource": "kyc_record", "record": {"id": 5}}
    response = client.put(f"{CONTROL}/snapshot", json={"records": [bad]})
    assert response.status_code == 400
    assert _snapshot(client) == before


def test_atomic_response_breaking_its_schema_is_refused_before_commit() -> None:
    schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    validator = compiled(schema, Draft4ResponseValidator)
    committed: list[bool] = []
    result = MockResponse(200, {"name": "x"}, commit=lambda: committed.append(True))
    with pytest.raises(errors.InternalError) as refused:
        api.response_for(result, validator)
    assert refused.value.detail == errors.RESPONSE_NOT_CONFORMING.format(
        reason="'id' is a required property"
    )
    assert committed == []
