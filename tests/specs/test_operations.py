"""Every operation is complete: ids, docs, tags, security, errors, `x-operation`, decisions."""

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from kycspec import SPECS_DIR, load_spec
from kycspec.expressions import Context
from kycspec.loader import HTTP_METHODS, inline_refs
from kycspec.loader import read_document as _read_document
from kycspec.model import ERROR_KINDS, ROLES

SPEC_FILES = sorted(SPECS_DIR.glob("*.yaml"))
DECISION_MARK = re.compile(r"\*\*(D\d+)\b")


@cache
def read_document(path: Path) -> dict[str, Any]:
    """The parsed spec, parsed once (tests only read it)."""
    return _read_document(path)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, path_item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in path_item:
                yield path, method, path_item[method]


def _operation(spec_path: Path, method_path: tuple[str, str]) -> tuple[dict[str, Any], Any]:
    document = read_document(spec_path)
    route, method = method_path
    return document, inline_refs(document, document["paths"][route][method])


OPERATION_PARAMS = [
    pytest.param(path, (route, method), id=f"{path.stem}: {method.upper()} {route}")
    for path in SPEC_FILES
    for route, method, _ in _operations(read_document(path))
]


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_operation_ids_are_present_and_unique(path: Path) -> None:
    ids = [operation.get("operationId") for _, _, operation in _operations(read_document(path))]
    assert all(ids), "an operation has no operationId"
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert set(ids) == set(load_spec(path).operations)


@pytest.mark.parametrize(("spec_path", "route"), OPERATION_PARAMS)
def test_operation_has_summary_and_declared_tags(spec_path: Path, route: tuple[str, str]) -> None:
    document, operation = _operation(spec_path, route)
    assert operation.get("summary", "").strip()
    declared = {tag["name"] for tag in document.get("tags", [])}
    assert operation.get("tags"), "no tags"
    assert set(operation["tags"]) <= declared


@pytest.mark.parametrize(("spec_path", "route"), OPERATION_PARAMS)
def test_operation_is_secured_by_a_declared_scheme(spec_path: Path, route: tuple[str, str]) -> None:
    document, operation = _operation(spec_path, route)
    security = operation.get("security", document.get("security"))
    assert security, "neither the operation nor the root declares security"
    schemes = document["components"]["securitySchemes"]
    for requirement in security:
        assert requirement, "an empty requirement makes the operation anonymous"
        assert set(requirement) <= set(schemes)


@pytest.mark.parametrize(("spec_path", "route"), OPERATION_PARAMS)
def test_operation_declares_error_responses(spec_path: Path, route: tuple[str, str]) -> None:
    _, operation = _operation(spec_path, route)
    responses = {str(code): response for code, response in operation["responses"].items()}
    client_errors = [
        code
        for code, response in responses.items()
        if code.startswith("4")
        and any("schema" in media for media in response.get("content", {}).values())
    ]
    assert client_errors, "no 4xx response with a schema"
    assert "401" in responses
    assert "500" in responses


@pytest.mark.parametrize(("spec_path", "route"), OPERATION_PARAMS)
def test_operation_x_operation_names_role_and_resource(
    spec_path: Path, route: tuple[str, str]
) -> None:
    document, operation = _operation(spec_path, route)
    extension = operation.get("x-operation")
    assert extension is not None
    assert extension["role"] in ROLES
    assert extension["resource"] in document["x-resources"]


def _error_responses(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for route, method, raw in _operations(document):
        operation = inline_refs(document, raw)
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                yield f"{method.upper()} {route} {code}", str(code), response


ERROR_RESPONSES = [
    pytest.param(path, where, id=f"{path.stem}: {where}")
    for path in SPEC_FILES
    for where, _, _ in _error_responses(read_document(path))
]


def _render_error(path: Path, status: int, kind: str) -> Any:
    spec = load_spec(path)
    values = {
        "status": status,
        "code": spec.errors.code(kind),
        "title": "Not Found",
        "detail": "No verification with this id.",
    }
    return spec.errors.body(Context(now=datetime(2024, 1, 15, tzinfo=UTC), values=values))


@pytest.mark.parametrize(("path", "where"), ERROR_RESPONSES)
def test_error_response_schema_matches_x_errors_envelope(path: Path, where: str) -> None:
    document = read_document(path)
    code, response = next((c, r) for w, c, r in _error_responses(document) if w == where)
    media_type = document["x-errors"]["mediaType"]
    content = response.get("content", {})
    assert list(content) == [media_type], f"errors are served as {media_type}"
    schema = content[media_type]["schema"]
    body = _render_error(path, int(code), "not_found")
    validator = OAS30ReadValidator(schema, format_checker=oas30_format_checker)
    validator.validate(body)
    with pytest.raises(ValidationError):
        validator.validate({})  # the schema is not vacuous


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_x_errors_names_a_code_for_every_error_kind(path: Path) -> None:
    codes = read_document(path)["x-errors"]["codes"]
    assert set(codes) == set(ERROR_KINDS)
    assert all(isinstance(code, str) and code for code in codes.values())


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_x_errors_body_carries_code_and_message(path: Path) -> None:
    spec = load_spec(path)
    rendered = repr(_render_error(path, 404, "not_found"))
    assert spec.errors.code("not_found") in rendered
    assert "No verification with this id." in rendered


def _decision_markers(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "x-decision":
                yield value
            else:
                yield from _decision_markers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _decision_markers(item)


def _listed_decisions(document: dict[str, Any]) -> list[str]:
    description = document["info"]["description"]
    _, found, section = description.partition("## Decisions")
    assert found, "info.description has no Decisions section"
    return DECISION_MARK.findall(section.split("\n## ")[0])


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_decision_markers_name_listed_decisions(path: Path) -> None:
    document = read_document(path)
    listed = set(_listed_decisions(document))
    markers = set(_decision_markers(document))
    assert markers, "no x-decision markers"
    assert markers <= listed, f"unlisted decisions {sorted(markers - listed)}"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_decisions_listed_are_each_referenced(path: Path) -> None:
    document = read_document(path)
    unused = set(_listed_decisions(document)) - set(_decision_markers(document))
    assert unused == set(), f"decisions never marked with x-decision: {sorted(unused)}"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_decisions_are_numbered_in_order(path: Path) -> None:
    listed = _listed_decisions(read_document(path))
    assert listed == [f"D{n}" for n in range(1, len(listed) + 1)]
