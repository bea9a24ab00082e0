"""The resources' lifecycles are sound, and `Lifecycle.problems()` catches unsound ones."""

from pathlib import Path
from typing import Any

import pytest

from kycspec import SPECS_DIR, ApiSpec, Operation, load_spec, vocabulary
from kycspec.expressions import split_path
from kycspec.lifecycle import build_lifecycle
from kycspec.loader import SpecError, build_spec
from kycspec.model import ROLES

SPEC_FILES = sorted(SPECS_DIR.glob("*.yaml"))
RESOURCES = [
    pytest.param(path, name, id=f"{path.stem}: {name}")
    for path in SPEC_FILES
    for name, resource in load_spec(path).resources.items()
    if resource.lifecycle is not None
]


def _has_field(schema: dict[str, Any] | None, keys: tuple[str, ...]) -> bool:
    for key in keys:
        if not isinstance(schema, dict) or key not in schema.get("properties", {}):
            return False
        schema = schema["properties"][key]
    return True


def _references_real_field(op: Operation, path: str) -> bool:
    """A condition path names a field of the record, the body, or a declared parameter."""
    root, keys = split_path(path)
    if root == "record":
        return _has_field(op.resource.schema, keys)
    if root == "body":
        return _has_field(op.request_schema, keys)
    if root in {"path", "query", "header"}:
        names = {p["name"].lower() for p in op.parameters if p["in"] == root}
        return len(keys) == 1 and keys[0].lower() in names
    return root == "auth"


def test_every_spec_declares_a_lifecycle() -> None:
    assert {path.stem for path, _ in (p.values for p in RESOURCES)} == {
        "finx",
        "kontorion",
        "finhub",
    }


@pytest.mark.parametrize(("path", "name"), RESOURCES)
def test_lifecycle_has_no_problems(path: Path, name: str) -> None:
    resource = load_spec(path).resources[name]
    lifecycle = resource.lifecycle
    assert lifecycle is not None
    status = resource.schema["properties"][lifecycle.field]
    assert "enum" in status, "the status field needs an enum to compare the states with"
    assert lifecycle.problems(status["enum"]) == []


@pytest.mark.parametrize(("path", "name"), RESOURCES)
def test_lifecycle_terminal_states_have_no_way_out(path: Path, name: str) -> None:
    lifecycle = load_spec(path).resources[name].lifecycle
    assert lifecycle is not None
    assert lifecycle.terminal, "a lifecycle without terminal states"
    for transition in lifecycle.transitions:
        assert not set(transition.sources) & set(lifecycle.terminal)


@pytest.mark.parametrize(("path", "name"), RESOURCES)
def test_lifecycle_via_operation_is_an_operation_of_the_resource(path: Path, name: str) -> None:
    spec = load_spec(path)
    lifecycle = spec.resources[name].lifecycle
    assert lifecycle is not None
    own = {op.operation_id for op in spec.operations_of(name)}
    for transition in lifecycle.transitions:
        if transition.operation is not None:
            assert transition.operation in own, f"{transition.operation} is not an operation"
            assert spec.operations[transition.operation].role in {"update", "transition"}
        else:
            assert transition.clock in spec.resources[name].schema["properties"]


@pytest.mark.parametrize(("path", "name"), RESOURCES)
def test_lifecycle_on_enter_sets_real_fields(path: Path, name: str) -> None:
    resource = load_spec(path).resources[name]
    assert resource.lifecycle is not None
    properties = resource.schema["properties"]
    for state, values in resource.lifecycle.raw_on_enter.items():
        assert set(values) <= set(properties), f"on-enter {state} sets unknown fields"
    assert set(resource.raw.get("defaults", {})) <= set(properties)
    assert set(resource.raw.get("derived", {})) <= set(properties)


def _transition_operations(spec: ApiSpec) -> list[Operation]:
    return [op for op in spec.operations.values() if op.role == "transition"]


TRANSITION_OPS = [
    pytest.param(path, op.operation_id, id=f"{path.stem}: {op.operation_id}")
    for path in SPEC_FILES
    for op in _transition_operations(load_spec(path))
]


@pytest.mark.parametrize(("path", "op_id"), TRANSITION_OPS)
def test_transition_operation_target_is_a_declared_target(path: Path, op_id: str) -> None:
    op = load_spec(path).operations[op_id]
    lifecycle = op.resource.lifecycle
    assert lifecycle is not None
    assert op.target, "a transition operation needs a target"
    targets = set(lifecycle.targets_of(op_id))
    assert targets, f"{op_id} drives no transition"
    if op.target_field is None:
        assert op.target in targets
    else:
        assert op.request_schema is not None
        body_field = op.request_schema["properties"][op.target_field]
        assert set(body_field["enum"]) <= targets, "the body may name an undeclared target"


def _guards() -> list[Any]:
    found = []
    for path in SPEC_FILES:
        spec = load_spec(path)
        for resource in spec.resources.values():
            for transition in resource.lifecycle.transitions if resource.lifecycle else ():
                for index, _ in enumerate(transition.guards):
                    label = f"{path.stem}: {transition.operation} -> {transition.target} #{index}"
                    found.append(pytest.param(path, transition, index, id=label))
    return found


GUARDS = _guards()


def test_guards_exist_to_be_checked() -> None:
    assert len(GUARDS) >= 1


@pytest.mark.parametrize(("path", "transition", "index"), GUARDS)
def test_guard_references_real_fields(path: Path, transition: Any, index: int) -> None:
    guard = transition.guards[index]
    op = load_spec(path).operations[transition.operation]
    for condition in ("when", "require"):
        for field_path in guard.raw.get(condition, {}):
            assert _references_real_field(op, field_path), f"{condition}: {field_path}"
    assert 400 <= guard.status < 500
    assert str(guard.status) in {str(code) for code in op.raw["responses"]}


MAGIC = [
    pytest.param(path, index, id=f"{path.stem}: magic {index}")
    for path in SPEC_FILES
    for index in range(len(load_spec(path).magic))
]


@pytest.mark.parametrize(("path", "index"), MAGIC)
def test_sandbox_magic_uses_real_operations_and_fields(path: Path, index: int) -> None:
    spec = load_spec(path)
    magic = spec.magic[index]
    for op_id in magic.operations:
        op = spec.operations[op_id]
        for field_path in magic.raw["when"]:
            assert _references_real_field(op, field_path), field_path
        assert set(magic.raw["set"]) <= set(op.resource.schema["properties"])
        status = op.resource.status_field
        if status in magic.raw["set"]:
            lifecycle = op.resource.lifecycle
            assert lifecycle is not None
            assert magic.raw["set"][status] in lifecycle.states


# Negative tests on tiny hand-written lifecycles.

SOUND = {
    "field": "status",
    "states": ["new", "done", "lost"],
    "initial": ["new"],
    "default": "new",
    "terminal": ["done", "lost"],
    "transitions": [
        {"from": ["new"], "to": "done", "via": {"operation": "finish"}},
        {"from": ["new"], "to": "lost", "via": {"clock": "expires_at"}},
    ],
}
ENUM = ["new", "done", "lost"]


def _with(**changes: Any) -> dict[str, Any]:
    return {**SOUND, **changes}


def test_lifecycle_sound_declaration_has_no_problems() -> None:
    assert build_lifecycle(SOUND).problems(ENUM) == []


def test_lifecycle_problems_catch_an_unreachable_state() -> None:
    raw = _with(transitions=SOUND["transitions"][:1])
    problems = build_lifecycle(raw).problems(ENUM)
    assert problems == ["state 'lost' is unreachable"]


def test_lifecycle_problems_catch_a_terminal_state_with_an_outgoing_transition() -> None:
    back = {"from": ["done"], "to": "new", "via": {"operation": "reopen"}}
    raw = _with(transitions=[*SOUND["transitions"], back])
    problems = build_lifecycle(raw).problems(ENUM)
    assert any("terminal" in p and "done" in p for p in problems), problems


def test_lifecycle_problems_catch_a_state_not_in_the_enum() -> None:
    problems = build_lifecycle(SOUND).problems(["new", "done"])
    assert any("differ from the status enum" in p for p in problems), problems


def test_lifecycle_problems_catch_a_transition_to_an_undeclared_state() -> None:
    stray = {"from": ["new"], "to": "archived", "via": {"operation": "archive"}}
    raw = _with(transitions=[*SOUND["transitions"], stray])
    assert "unknown state 'archived'" in build_lifecycle(raw).problems(ENUM)


def test_lifecycle_problems_catch_a_default_that_is_not_initial() -> None:
    raw = _with(initial=["new", "lost"], default="done")
    problems = build_lifecycle(raw).problems(ENUM)
    assert "default state 'done' is not initial" in problems


def test_lifecycle_problems_catch_a_transition_without_a_driver() -> None:
    raw = _with(transitions=[{"from": ["new"], "to": "done"}, SOUND["transitions"][1]])
    problems = build_lifecycle(raw).problems(ENUM)
    assert any("needs one of operation, clock" in p for p in problems), problems


def _tiny_openapi(role: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Tiny", "version": "1"},
        "paths": {
            "/things/{id}": {
                "get": {
                    "operationId": "getThing",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "x-operation": {"role": role, "resource": "thing"},
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                }
                            },
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {"Thing": {"type": "object", "properties": {"id": {"type": "string"}}}}
        },
        "x-resources": {
            "thing": {
                "schema": "#/components/schemas/Thing",
                "id": {"field": "id", "format": "{uuid}"},
            }
        },
    }


def test_build_spec_accepts_a_tiny_spec_with_a_known_role() -> None:
    spec = build_spec("tiny", _tiny_openapi("read"))
    assert spec.operations["getThing"].role == "read"


def test_build_spec_rejects_an_unknown_role() -> None:
    with pytest.raises(SpecError) as refused:
        build_spec("tiny", _tiny_openapi("frobnicate"))
    allowed = ", ".join(ROLES)
    assert str(refused.value).endswith(
        "/x-operation/role: " + vocabulary.NOT_ONE_OF.format(value="frobnicate", allowed=allowed)
    )


def test_build_spec_rejects_an_unsound_lifecycle() -> None:
    document = _tiny_openapi("read")
    document["components"]["schemas"]["Thing"]["properties"]["status"] = {
        "type": "string",
        "enum": ENUM,
    }
    document["x-resources"]["thing"]["lifecycle"] = _with(transitions=[])
    with pytest.raises(SpecError, match="unreachable"):
        build_spec("tiny", document)
