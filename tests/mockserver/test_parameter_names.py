"""Parameters whose names are not Python identifiers reach the engine by the names the spec
gives them, on the compiled fast path and on connexion's chain alike (`parameter_names`)."""

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from tests.tinyspec import tiny_document, write_spec


@pytest.mark.parametrize("slow_path", [False, True], ids=["fast", "slow"])
def test_a_path_parameter_with_a_hyphen_names_the_record(tmp_path: Path, slow_path: bool) -> None:
    document = tiny_document()
    item = document["paths"].pop("/things/{id}")
    item["get"]["parameters"][0]["name"] = "thing-id"
    document["paths"]["/things/{thing-id}"] = item
    write_spec(tmp_path, document)
    client = TestClient(create_app(tmp_path, api="tiny", slow_path=slow_path))
    headers = {"Authorization": "Bearer test_names"}
    thing = client.post("/v1/things", headers=headers, json={"name": "a"}).json()
    read = client.get(f"/v1/things/{thing['id']}", headers=headers)
    assert (read.status_code, read.json()) == (200, thing)
