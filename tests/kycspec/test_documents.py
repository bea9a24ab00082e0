"""Reading any OpenAPI document: YAML or JSON, 3.0, 3.1 or Swagger 2.0, one file or several.

The documents under tests/data/documents/ are small ones in the shape of public ones (the OAI
Petstore as published, with unquoted status codes; a 3.1 museum API; the Swagger 2.0 Petstore; a
library split over several files); tests/data/documents/bad/ holds one of each failure.
"""

import json
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from kycspec import bundle, documents, loader, openapi31
from kycspec.documents import read_openapi
from kycspec.loader import load_directory, load_spec
from kycspec.problems import DocumentError

DOCUMENTS = Path(__file__).resolve().parent.parent / "data" / "documents"
BAD = DOCUMENTS / "bad"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _error(path: Path, **options: Any) -> DocumentError:
    with pytest.raises(DocumentError) as raised:
        read_openapi(path, **options)
    return raised.value


def test_unquoted_status_codes_are_read_as_strings() -> None:
    document = read_openapi(DOCUMENTS / "petstore.yaml")
    assert document.source_version == "3.0"
    assert set(document.content["paths"]["/pets"]["get"]["responses"]) == {"200", "default"}
    assert load_spec(DOCUMENTS / "petstore.yaml").title == "Swagger Petstore"


def test_yaml_dates_in_examples_stay_strings() -> None:
    book = read_openapi(DOCUMENTS / "library.yaml").content["components"]["schemas"]["Book"]
    assert book["properties"]["published"]["example"] == "1965-08-01"


@pytest.mark.parametrize("suffix", [".json", ".yml"])
def test_json_and_yml_files_are_served_like_yaml(tmp_path: Path, suffix: str) -> None:
    raw = yaml.safe_load((DOCUMENTS / "petstore.yaml").read_text())
    text = json.dumps(raw, default=str) if suffix == ".json" else (DOCUMENTS / "petstore.yaml")
    target = tmp_path / f"pets{suffix}"
    target.write_text(text if isinstance(text, str) else text.read_text())
    loaded = load_directory(tmp_path)
    assert loaded.problems == ()
    assert list(loaded.specs) == ["pets"]
    assert loaded.specs["pets"].stateful is False


def test_a_3_1_document_becomes_the_equivalent_3_0_one() -> None:
    document = read_openapi(DOCUMENTS / "museum-3.1.yaml")
    content = document.content
    assert document.source_version == "3.1"
    assert content["openapi"] == openapi31.TARGET_VERSION
    assert "webhooks" not in content
    event = content["components"]["schemas"]["SpecialEvent"]["properties"]
    assert event["location"] == {"type": "string", "nullable": True}
    assert event["kind"] == {"enum": ["special"]}
    assert event["name"]["example"] == "Pirate Coding Workshop"
    assert event["price"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert event["note"] == {"type": "string", "nullable": True}
    assert event["capacity"] == {
        "oneOf": [
            {"type": "integer"},
            {"type": "string", "enum": ["unlimited"]},
            openapi31.NULL_SCHEMA,
        ]
    }
    limit = content["paths"]["/special-events"]["get"]["parameters"][0]["schema"]
    assert limit["minimum"] == 0
    assert limit["exclusiveMinimum"] is True


def test_3_1_constructs_without_a_3_0_form_are_refused_by_name() -> None:
    error = _error(BAD / "schema-3.1-without-3.0-form.yaml")
    found = (
        "if at /components/schemas/Shape/if, then at /components/schemas/Shape/then, "
        "prefixItems at /paths/~1points/get/responses/200/content/application~1json/schema/"
        "prefixItems"
    )
    assert error.message == openapi31.REFUSED.format(found=found)
    assert error.pointer == "/components/schemas/Shape/if"


def test_swagger_2_is_converted_with_its_base_path() -> None:
    document = read_openapi(DOCUMENTS / "petstore-swagger2.yaml")
    content = document.content
    assert document.source_version == "2.0"
    assert content["servers"] == [{"url": "http://petstore.swagger.io/v1"}]
    assert load_spec(DOCUMENTS / "petstore-swagger2.yaml").base_path == "/v1"
    body = content["paths"]["/pets"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Pet"}
    assert content["components"]["schemas"]["Pet"]["properties"]["tag"]["nullable"] is True
    assert "x-s2o" not in content


def test_refs_to_other_files_are_bundled_relative_to_each_file() -> None:
    content = read_openapi(DOCUMENTS / "library.yaml").content
    assert all(ref.startswith("#/") for ref in _refs(content))
    schemas = content["components"]["schemas"]
    book = schemas["Book"]
    assert book["properties"]["sequel"] == {"$ref": "#/components/schemas/Book"}
    # the document's own Author keeps its name; the other file's gets a new one
    assert book["properties"]["author"] == {"$ref": "#/components/schemas/Author_2"}
    assert schemas["Author_2"]["required"] == ["name"]
    assert "get" in content["paths"]["/books"]
    assert content["components"]["parameters"]["BookId"]["name"] == "bookId"


def test_a_remote_ref_is_refused_without_opening_any_url(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Any] = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: opened.append(a))
    error = _error(BAD / "remote-ref.yaml")
    ref = "https://schemas.example.com/thing.yaml#/Thing"
    assert error.message == bundle.REMOTE_REFUSED.format(ref=ref)
    assert error.pointer == (
        "/paths/~1things/get/responses/200/content/application~1json/schema/$ref"
    )
    assert opened == []


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server for tmp_path/served, on a free loopback port."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_remote_ref_is_fetched_when_allowed(tmp_path: Path, file_server: str) -> None:
    (tmp_path / "served" / "thing.yaml").write_text(
        "Thing:\n  type: object\n  properties:\n    id: {type: string}\n"
    )
    text = (BAD / "remote-ref.yaml").read_text()
    document = tmp_path / "remote.yaml"
    document.write_text(text.replace("https://schemas.example.com", file_server))
    content = read_openapi(document, allow_remote_refs=True).content
    media = content["paths"]["/things"]["get"]["responses"]["200"]["content"]
    assert media["application/json"]["schema"]["properties"] == {"id": {"type": "string"}}


@pytest.mark.parametrize(
    ("name", "pointer", "message"),
    [
        ("future.yaml", "/openapi", documents.UNSUPPORTED_VERSION.format(version="4.0.0")),
        (
            "dangling-local-ref.yaml",
            "/paths/~1things/get/responses/200/content/application~1json/schema/$ref",
            bundle.MISSING_TARGET.format(
                ref="#/components/schemas/Missing",
                file=(BAD / "dangling-local-ref.yaml").resolve(),
                fragment="/components/schemas/Missing",
            ),
        ),
        (
            "missing-file.yaml",
            "/paths/~1x/$ref",
            bundle.MISSING_FILE.format(
                ref="gone/paths.yaml", file=(BAD / "gone" / "paths.yaml").resolve()
            ),
        ),
        (
            "half-stateful.yaml",
            "/paths/~1things/get",
            loader.NO_X_OPERATION.format(op_id="listThings"),
        ),
    ],
)
def test_each_bad_document_names_file_pointer_and_problem(
    name: str, pointer: str, message: str
) -> None:
    with pytest.raises(DocumentError) as raised:
        load_spec(BAD / name)
    assert raised.value.file == str(BAD / name)
    assert raised.value.pointer == pointer
    assert raised.value.message == message


@pytest.mark.parametrize(("name", "kind"), [("not-yaml.yaml", "YAML"), ("not-json.json", "JSON")])
def test_a_file_that_does_not_parse_says_where(name: str, kind: str) -> None:
    error = _error(BAD / name)
    assert error.message.startswith(f"not valid {kind}: ")
    assert "line" in error.message


def test_an_invalid_document_names_the_json_pointer(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("openapi: 3.0.3\ninfo: {title: Broken}\npaths: {}\n")
    error = _error(path)
    assert error.pointer == "/info"
    assert error.message == documents.INVALID.format(
        converted="", message='"version" is a required property'
    )


def test_a_fragment_file_beside_documents_is_reported(tmp_path: Path) -> None:
    (tmp_path / "parts.yaml").write_text("Pet: {type: object}\n")
    shutil.copy(DOCUMENTS / "petstore.yaml", tmp_path)
    loaded = load_directory(tmp_path)
    assert list(loaded.specs) == ["petstore"]
    assert [(p.file, p.message) for p in loaded.problems] == [
        (str(tmp_path / "parts.yaml"), documents.NO_VERSION)
    ]


def test_one_bad_document_does_not_hide_the_others() -> None:
    loaded = load_directory(BAD)
    assert loaded.specs == {}
    assert len(loaded.problems) == len(list(BAD.glob("*.*")))
    good = load_directory(DOCUMENTS)
    assert set(good.specs) == {"library", "museum-3.1", "petstore", "petstore-swagger2"}
    assert good.problems == ()


def test_two_files_with_one_name_are_both_refused(tmp_path: Path) -> None:
    shutil.copy(DOCUMENTS / "petstore.yaml", tmp_path / "pets.yaml")
    shutil.copy(DOCUMENTS / "petstore.yaml", tmp_path / "pets.yml")
    loaded = load_directory(tmp_path)
    assert loaded.specs == {}
    assert [p.message for p in loaded.problems] == [
        loader.SAME_NAME.format(other="pets.yml"),
        loader.SAME_NAME.format(other="pets.yaml"),
    ]
