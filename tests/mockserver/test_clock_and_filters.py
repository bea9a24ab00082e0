"""A clock transition's on-enter sees its own record; date filters work on Unix timestamps."""

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app
from tests.mockserver.conftest import advance_clock, bearer
from tests.tinyspec import tiny_document, write_spec

BASE = "/v1"


def _unix_document() -> dict[str, Any]:
    """Things with Unix-seconds timestamps, a clock-driven expiry and a date-filtered list."""
    document = tiny_document()
    properties = document["components"]["schemas"]["Thing"]["properties"]
    for name in ("created_at", "updated_at", "expires_at"):
        properties[name] = {"type": "integer", "readOnly": True}
    properties["status"] = {"type": "string", "enum": ["active", "expired"], "readOnly": True}
    properties["expired_name"] = {"type": "string", "readOnly": True}
    resource = document["x-resources"]["thing"]
    resource["timestamps"] = {"format": "unix"}
    resource["defaults"] = {"expires_at": "$now+1h"}
    resource["lifecycle"] = {
        "field": "status",
        "states": ["active", "expired"],
        "default": "active",
        "terminal": ["expired"],
        "on-enter": {"expired": {"expired_name": "$record.name"}},
        "transitions": [{"from": ["active"], "to": "expired", "via": {"clock": "expires_at"}}],
    }
    get_one = document["paths"]["/things/{id}"]["get"]
    document["paths"]["/things"]["get"] = {
        "operationId": "listThings",
        "parameters": [
            {
                "name": "created_after",
                "in": "query",
                "schema": {"type": "string", "format": "date"},
                "x-filter": {"field": "created_at", "op": "gte"},
            },
            {
                "name": "created_since",
                "in": "query",
                "schema": {"type": "string"},
                "x-filter": {"field": "created_at", "op": "gte"},
            },
        ],
        "x-operation": {"role": "list", "resource": "thing", "response": {"data": "$items"}},
        "responses": {
            **{k: v for k, v in get_one["responses"].items() if k != "200"},
            "200": {
                "description": "a page",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "data": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Thing"},
                                }
                            },
                        }
                    }
                },
            },
        },
    }
    return document


def _client(tmp_path: Path) -> TestClient:
    write_spec(tmp_path, _unix_document())
    return TestClient(create_app(tmp_path, api="tiny", validate_responses=True))


def test_clock_on_enter_reads_the_record_the_clock_moves(tmp_path: Path) -> None:
    client = _client(tmp_path)
    headers = bearer("test_clock")
    thing = client.post(f"{BASE}/things", headers=headers, json={"name": "n1"}).json()
    advance_clock(client, "clock", 2 * 3600)
    read = client.get(f"{BASE}/things/{thing['id']}", headers=headers).json()
    assert (read["status"], read["expired_name"]) == ("expired", "n1")


def test_date_filter_on_a_unix_timestamp_field(tmp_path: Path) -> None:
    client = _client(tmp_path)
    headers = bearer("test_dates")
    client.post(f"{BASE}/things", headers=headers, json={"name": "n1"})
    past = client.get(f"{BASE}/things", headers=headers, params={"created_after": "2000-01-01"})
    future = client.get(f"{BASE}/things", headers=headers, params={"created_after": "2999-01-01"})
    assert (past.status_code, len(past.json()["data"])) == (200, 1)
    assert (future.status_code, future.json()["data"]) == (200, [])


def test_date_filter_that_is_no_date_is_400(tmp_path: Path) -> None:
    client = _client(tmp_path)
    headers = bearer("test_dates")
    dated = client.get(f"{BASE}/things", headers=headers, params={"created_after": "not a date"})
    assert dated.status_code == 400  # `format: date` refuses it first
    plain = client.get(f"{BASE}/things", headers=headers, params={"created_since": "not a date"})
    assert plain.status_code == 400
    assert plain.json() == {
        "error": errors.BAD_TIME_FILTER.format(param="created_since", value="not a date")
    }
