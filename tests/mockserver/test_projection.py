"""A response keeps what its schema declares (`mockserver.projection`), in the schema's order."""

from typing import Any

from mockserver.projection import project

RECORD = {
    "id": "r1",
    "name": "Ada",
    "secret": "x",
    "tags": ["a", "b"],
    "address": {"city": "Oslo", "pin": 1},
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "id": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_undeclared_properties_are_dropped_at_every_depth_in_schema_order() -> None:
    projected = project(RECORD, SCHEMA)
    assert projected == {"name": "Ada", "id": "r1", "tags": ["a", "b"], "address": {"city": "Oslo"}}
    assert list(projected) == ["name", "id", "tags", "address"]  # type: ignore[arg-type]


def test_a_list_of_records_is_projected_record_by_record() -> None:
    page = {"data": [RECORD, {**RECORD, "id": "r2"}], "has_more": False, "cursor": "c"}
    schema = {
        "type": "object",
        "properties": {"has_more": {"type": "boolean"}, "data": {"type": "array", "items": SCHEMA}},
    }
    projected = project(page, schema)
    assert projected == {
        "has_more": False,
        "data": [project(RECORD, SCHEMA), project({**RECORD, "id": "r2"}, SCHEMA)],
    }


def test_all_of_parts_and_additional_properties_are_honoured() -> None:
    schema = {
        "allOf": [
            {"properties": {"id": {"type": "string"}}},
            {"properties": {"name": {"type": "string"}}, "additionalProperties": True},
        ]
    }
    assert project({"id": 1, "name": 2, "extra": 3}, schema) == {"id": 1, "name": 2, "extra": 3}
    closed = {"properties": {"id": {"type": "string"}}, "additionalProperties": False}
    assert project({"id": 1, "extra": 3}, closed) == {"id": 1}
    assert project({"extra": 3}, {"additionalProperties": False}) == {}


def test_a_list_comes_out_as_a_new_list_and_a_boolean_schema_keeps_the_value() -> None:
    tags = ["a"]
    projected = project({"tags": tags}, {"properties": {"tags": {"type": "array"}}})
    assert projected == {"tags": ["a"]}
    assert projected["tags"] is not tags  # type: ignore[index]
    assert project({"any": {"x": 1}}, {"properties": {"any": True}}) == {"any": {"x": 1}}


def test_a_recursive_schema_is_projected_to_any_depth() -> None:
    node: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}}
    node["properties"]["child"] = node
    value = {"name": "a", "x": 1, "child": {"name": "b", "x": 2, "child": {"name": "c", "x": 3}}}
    assert project(value, node) == {"name": "a", "child": {"name": "b", "child": {"name": "c"}}}


def test_a_record_of_plain_fields_keeps_the_schema_order_and_copies_its_lists() -> None:
    schema = {
        "properties": {
            "id": {"allOf": [{"type": "string"}], "readOnly": True},
            "tags": {"allOf": [{"type": "array"}]},
            "note": {},
        }
    }
    in_order = {"id": "r1", "tags": ["a"], "note": "n"}
    projected = project(in_order, schema)
    assert projected == in_order
    assert projected["tags"] is not in_order["tags"]  # type: ignore[index]
    shuffled = {"note": "n", "extra": 1, "id": "r1"}
    assert list(project(shuffled, schema)) == ["id", "note"]  # type: ignore[arg-type]
    plain = {"properties": {"id": {"type": "string"}, "n": {"type": "integer"}}}
    record = {"id": "r1", "n": 1}
    assert project(record, plain) is record  # already in its shape: nothing to copy
