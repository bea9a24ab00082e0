"""`mockserver infer SPEC` prints the inferred x- extensions; `serve --infer` applies them."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from starlette.testclient import TestClient

from kycspec.infer import INTEGER_ID
from mockserver import cli
from mockserver.app import create_app

DOCUMENTS = Path(__file__).resolve().parent.parent / "data" / "documents"
MUSEUM = "/museum-3.1/v1"
LIBRARY = "/library/library"


def test_infer_prints_extensions_to_paste() -> None:
    result = CliRunner().invoke(cli.main, ["infer", str(DOCUMENTS / "museum-3.1.yaml")])
    assert result.exit_code == 0, result.output
    head = yaml.safe_load(result.output.split("# paths.", 1)[0])
    assert head["x-resources"]["special_event"]["id"] == {"field": "eventId", "format": "{uuid}"}
    assert "# paths./special-events/{eventId}.delete" in result.output


def test_infer_lists_what_it_cannot_infer_and_exits_1() -> None:
    result = CliRunner().invoke(cli.main, ["infer", str(DOCUMENTS / "petstore.yaml")])
    assert result.exit_code == 1
    assert INTEGER_ID.format(path="/pets/{petId}", field="id") in result.output


def test_infer_refuses_a_document_with_extensions_and_a_bad_one() -> None:
    specs = Path(__file__).resolve().parents[2] / "specs"
    declared = CliRunner().invoke(cli.main, ["infer", str(specs / "finx.yaml")])
    assert declared.exit_code == 1
    assert cli.ALREADY_DECLARED.format(spec=specs / "finx.yaml") in declared.output
    bad = CliRunner().invoke(cli.main, ["infer", str(DOCUMENTS / "bad" / "future.yaml")])
    assert bad.exit_code == cli.EXIT_CANNOT_START
    assert "future.yaml#/openapi" in bad.output


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(DOCUMENTS, infer=True, validate_responses=True)
    with TestClient(app) as test_client:
        yield test_client


def test_an_inferred_api_keeps_records(client: TestClient) -> None:
    created = client.post(f"{LIBRARY}/books", json={"title": "Dune"})
    assert created.status_code == 201, created.text
    book = created.json()
    assert re.fullmatch(r"[A-Za-z0-9]{12}", book["bookId"])
    assert client.get(f"{LIBRARY}/books/{book['bookId']}").json() == book
    assert client.get(f"{LIBRARY}/books/nope").status_code == 404
    assert book in client.get(f"{LIBRARY}/books").json()


def test_an_inferred_3_1_api_keeps_records_per_bearer_token(client: TestClient) -> None:
    alice = {"Authorization": "Bearer test_alice"}
    body = {"name": "Gala", "kind": "special", "price": 10}
    created = client.post(f"{MUSEUM}/special-events", json=body, headers=alice)
    assert created.status_code == 201, created.text
    event_id = created.json()["eventId"]
    assert client.get(f"{MUSEUM}/special-events/{event_id}", headers=alice).json()["name"] == "Gala"
    bob = {"Authorization": "Bearer test_bob"}
    assert client.get(f"{MUSEUM}/special-events/{event_id}", headers=bob).status_code == 404
    assert client.delete(f"{MUSEUM}/special-events/{event_id}", headers=alice).status_code == 204
    assert client.get(f"{MUSEUM}/special-events/{event_id}", headers=alice).status_code == 404


def test_a_document_that_does_not_fit_stays_stateless(client: TestClient) -> None:
    assert client.get("/petstore/v1/pets/1").json() == {"id": 1, "name": "Rex", "tag": "dog"}
    listing = client.get("/", headers={"Accept": "application/json"}).json()
    modes = {api["name"]: api["mode"] for api in listing["apis"]}
    assert modes == {
        "library": "stateful",
        "museum-3.1": "stateful",
        "petstore": "stateless",
        "petstore-swagger2": "stateless",
    }
