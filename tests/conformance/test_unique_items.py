"""Valid data the suite generates keeps `uniqueItems` (JSON Schema validation section 6.4.3).

Three generators make valid data: the example builder (one minimal request), the lifecycle
layer's strategies (varied bodies) and schemathesis' positive mode (the schema layer). Each one
is checked against the same schema of arrays that must not repeat an item.
"""

import json
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from conformance.layers.lifecycle_inputs import strategy_for
from conformance.requests import NO_DISTINCT_ITEMS, ExampleError, example_value


def _unique(items: dict[str, Any], low: int = 2) -> dict[str, Any]:
    return {"type": "array", "minItems": low, "maxItems": 4, "uniqueItems": True, "items": items}


ARRAYS = {
    "short_text": _unique({"type": "string", "maxLength": 3}),
    "text": _unique({"type": "string", "minLength": 2}, low=3),
    "small_ints": _unique({"type": "integer", "minimum": 0, "maximum": 5}),
    "numbers": _unique({"type": "number", "minimum": 0.5}),
    "enum": _unique({"type": "string", "enum": ["document", "facial_similarity_photo"]}),
    "uuids": _unique({"type": "string", "format": "uuid"}),
    "dates": _unique({"type": "string", "format": "date"}),
    "emails": _unique({"type": "string", "format": "email"}),
    "objects": _unique(
        {
            "type": "object",
            "required": ["kind", "note"],
            "properties": {
                "kind": {"type": "string", "enum": ["passport"]},
                "note": {"type": "string", "maxLength": 4},
            },
        }
    ),
    "flags": _unique({"type": "boolean"}),
}
BODY = {"type": "object", "required": sorted(ARRAYS), "properties": ARRAYS}
SOME = ("text", "small_ints", "objects")  # what schemathesis gets: its generation is slower


def _assert_unique(body: dict[str, Any], schema: dict[str, Any] = BODY) -> None:
    jsonschema.Draft4Validator(schema).validate(body)  # uniqueItems compares as JSON does
    for name in schema["required"]:
        items = body[name]
        as_json = [json.dumps(item, sort_keys=True) for item in items]
        assert len(set(as_json)) == len(as_json), (name, items)


def test_unique_items_example_builder_never_repeats_an_item() -> None:
    body = example_value(BODY)
    assert isinstance(body, dict)
    _assert_unique(body)
    assert body["small_ints"] == [0, 1]
    assert body["objects"][0]["kind"] == body["objects"][1]["kind"] == "passport"


def test_unique_items_example_builder_refuses_more_items_than_the_schema_has() -> None:
    items = {"type": "boolean"}
    with pytest.raises(ExampleError) as raised:
        example_value(_unique(items, low=3))
    assert str(raised.value) == NO_DISTINCT_ITEMS.format(count=3, items=json.dumps(items))


@settings(max_examples=150, suppress_health_check=list(HealthCheck), database=None, deadline=None)
@given(strategy_for(BODY))
def test_unique_items_lifecycle_strategies_never_repeat_an_item(body: dict[str, Any]) -> None:
    _assert_unique(body)


@settings(max_examples=60, suppress_health_check=list(HealthCheck), database=None, deadline=None)
@given(strategy_for(_unique({"anyOf": [{"type": "integer"}, {"type": "number"}]}, low=0)))
def test_unique_items_lifecycle_strategies_compare_numbers_as_json(items: list[Any]) -> None:
    assert len({float(item) for item in items}) == len(items)


SCHEMATHESIS_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": list(SOME),
    "properties": {name: ARRAYS[name] for name in SOME},
}
DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "unique items", "version": "1"},
    "paths": {
        "/things": {
            "post": {
                "operationId": "createThing",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": SCHEMATHESIS_BODY}},
                },
                "responses": {"201": {"description": "created"}},
            }
        }
    },
}


@settings(max_examples=25, suppress_health_check=list(HealthCheck), database=None, deadline=None)
@given(
    schemathesis.openapi.from_dict(DOCUMENT)
    .find_operation_by_id("createThing")
    .as_strategy(generation_mode=GenerationMode.POSITIVE)
)
def test_unique_items_schema_layer_positive_data_never_repeats_an_item(case: Any) -> None:
    _assert_unique(case.body, SCHEMATHESIS_BODY)
