"""Every example in every spec validates against its schema, with OpenAPI 3.0 semantics."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30Validator,
    OAS30WriteValidator,
    oas30_format_checker,
)

from kycspec import SPECS_DIR, load_spec
from kycspec.loader import HTTP_METHODS, inline_refs, read_document

SPEC_FILES = sorted(SPECS_DIR.glob("*.yaml"))
# Enough examples that the suite cannot pass by finding none.
MINIMUM_EXAMPLES = {"finx": 40, "kontorion": 10, "finhub": 30}
VALIDATORS = {"read": OAS30ReadValidator, "write": OAS30WriteValidator, "plain": OAS30Validator}


@dataclass(frozen=True)
class Example:
    where: str
    schema: Any
    value: Any
    mode: str  # "read" (responses), "write" (requests) or "plain"


def _schema_examples(schema: Any, where: str) -> Iterator[Example]:
    """Schema-level `example`s, in the schema and every schema nested in it."""
    if not isinstance(schema, dict):
        return
    if "example" in schema:
        yield Example(f"{where} (schema example)", schema, schema["example"], "plain")
    for key in ("properties", "patternProperties"):
        for name, sub in schema.get(key, {}).items():
            yield from _schema_examples(sub, f"{where}.{name}")
    for key in ("items", "additionalProperties", "not"):
        yield from _schema_examples(schema.get(key), f"{where}/{key}")
    for key in ("allOf", "anyOf", "oneOf"):
        for index, sub in enumerate(schema.get(key, [])):
            yield from _schema_examples(sub, f"{where}/{key}/{index}")


def _holder_examples(holder: dict[str, Any], where: str, mode: str) -> Iterator[Example]:
    """`example`/`examples` of a media type or a parameter, against its `schema`."""
    schema = holder.get("schema")
    if schema is None:
        return
    if "example" in holder:
        yield Example(f"{where} example", schema, holder["example"], mode)
    for name, example in holder.get("examples", {}).items():
        assert "value" in example, f"{where} examples.{name} has no value"
        yield Example(f"{where} examples.{name}", schema, example["value"], mode)
    yield from _schema_examples(schema, f"{where} schema")


def _content_examples(owner: dict[str, Any], where: str, mode: str) -> Iterator[Example]:
    for media_type, holder in owner.get("content", {}).items():
        yield from _holder_examples(holder, f"{where} {media_type}", mode)


def collect_examples(document: dict[str, Any]) -> list[Example]:
    """Every example of the document, refs inlined, with the schema it must match."""
    doc = inline_refs(document, document)
    found: list[Example] = []
    for path, path_item in doc["paths"].items():
        for param in path_item.get("parameters", []):
            found += _holder_examples(param, f"{path} parameter {param['name']}", "plain")
        for method in HTTP_METHODS:
            if method not in path_item:
                continue
            operation = path_item[method]
            where = f"{method.upper()} {path}"
            for param in operation.get("parameters", []):
                found += _holder_examples(param, f"{where} parameter {param['name']}", "plain")
            found += _content_examples(
                operation.get("requestBody", {}), f"{where} request", "write"
            )
            for code, response in operation["responses"].items():
                found += _content_examples(response, f"{where} {code}", "read")
    components = doc.get("components", {})
    for name, param in components.get("parameters", {}).items():
        found += _holder_examples(param, f"components.parameters.{name}", "plain")
    for name, body in components.get("requestBodies", {}).items():
        found += _content_examples(body, f"components.requestBodies.{name}", "write")
    for name, response in components.get("responses", {}).items():
        found += _content_examples(response, f"components.responses.{name}", "read")
    for name, schema in components.get("schemas", {}).items():
        found += _schema_examples(schema, f"components.schemas.{name}")
    return found


def _validate(schema: Any, value: Any, mode: str = "plain") -> None:
    VALIDATORS[mode](schema, format_checker=oas30_format_checker).validate(value)


EXAMPLES = [
    pytest.param(example, id=f"{path.stem}: {example.where}")
    for path in SPEC_FILES
    for example in collect_examples(read_document(path))
]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates_against_its_schema(example: Example) -> None:
    _validate(example.schema, example.value, example.mode)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_spec_has_enough_examples(path: Path) -> None:
    examples = collect_examples(read_document(path))
    assert len(examples) >= MINIMUM_EXAMPLES[path.stem]


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_spec_examples_cover_requests_and_responses(path: Path) -> None:
    modes = {example.mode for example in collect_examples(read_document(path))}
    assert {"read", "write"} <= modes


FIXTURES = [
    pytest.param(path, index, id=f"{path.stem}: fixture {index}")
    for path in SPEC_FILES
    for index in range(len(load_spec(path).fixtures))
]


@pytest.mark.parametrize(("path", "index"), FIXTURES)
def test_fixture_validates_against_resource_schema(path: Path, index: int) -> None:
    spec = load_spec(path)
    fixture = spec.fixtures[index]
    resource = spec.resources[fixture.resource]
    _validate(resource.schema, fixture.record, "read")
    assert fixture.record[resource.id_field]


def test_fixtures_exist_where_the_docs_show_records() -> None:
    counts = {path.stem: len(load_spec(path).fixtures) for path in SPEC_FILES}
    assert counts["finx"] >= 4
    assert counts["finhub"] >= 2


def test_validator_rejects_a_wrong_example() -> None:
    """The validation above can fail: a wrong type, a bad format, a bad enum are caught."""
    schema = inline_refs(
        read_document(SPECS_DIR / "kontorion.yaml"),
        {"$ref": "#/components/schemas/Verification"},
    )
    good = dict(schema["example"])
    _validate(schema, good)
    for field, bad in (("status", "approved"), ("created_at", "yesterday"), ("id", "not-a-uuid")):
        with pytest.raises(ValidationError):
            _validate(schema, {**good, field: bad})


def test_validator_honours_nullable_and_read_only() -> None:
    schema = {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "nullable": True},
            "code": {"type": "string"},
            "id": {"type": "string", "readOnly": True},
        },
    }
    _validate(schema, {"reason": None})
    with pytest.raises(ValidationError):
        _validate(schema, {"code": None})
    _validate(schema, {"id": "x"}, "read")
    with pytest.raises(ValidationError):
        _validate(schema, {"id": "x"}, "write")
