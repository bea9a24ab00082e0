"""Inputs for the lifecycle state machine: values drawn from the spec's request schemas.

`conformance.requests` builds the one minimal request a check needs; the state machine instead
draws varied ones (every enum value, optional fields present or not), and steers them onto the
spec's sandbox magic values when the target honours them.
"""

import itertools
import json
import re
import string
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

from conformance.requests import (
    FILE_CONTENT,
    FILE_NAME,
    FORMAT_VALUES,
    example_value,
    string_variants,
    with_content,
)
from kycspec.model import Magic, Operation
from kycspec.types import JSONObject

ALPHABET = string.ascii_letters + string.digits + "-_"
MAX_TEXT = 24
PICK_RANGE = 1023
T = TypeVar("T")


def _merged(schema: JSONObject | None) -> JSONObject:
    schema = dict(schema or {})
    for part in schema.pop("allOf", []):
        schema = {**_merged(part), **schema}
    return schema


def strategy_for(schema: JSONObject | None) -> st.SearchStrategy[Any]:
    """Values valid against a (refs inlined) schema: the subset our specs use."""
    schema = _merged(schema)
    for key in ("oneOf", "anyOf"):
        if schema.get(key):  # the branches of a converted document are disjoint by type
            rest = {k: v for k, v in schema.items() if k != key}
            return st.one_of([strategy_for({**rest, **branch}) for branch in schema[key]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        writable = {k: v for k, v in properties.items() if not v.get("readOnly")}
        return st.fixed_dictionaries(
            {k: strategy_for(v) for k, v in writable.items() if k in required},
            optional={k: strategy_for(v) for k, v in writable.items() if k not in required},
        )
    if kind == "array":
        low = int(schema.get("minItems", 0))
        high = min(low + 2, int(schema.get("maxItems", low + 2)))
        # uniqueItems (JSON Schema validation 6.4.3): valid data never repeats an item
        unique = bool(schema.get("uniqueItems"))
        items = strategy_for(schema.get("items"))
        item_format = _merged(schema.get("items")).get("format")
        if unique and item_format in FORMAT_VALUES:  # one value per format elsewhere
            variants = string_variants(_merged(schema.get("items")))
            items = st.sampled_from(list(itertools.islice(variants, high)))
        return st.lists(items, min_size=low, max_size=high, unique_by=_as_json if unique else None)
    if kind == "integer":
        low = int(schema.get("minimum", 0)) + (schema.get("exclusiveMinimum") is True)
        high = int(schema.get("maximum", low + 1000)) - (schema.get("exclusiveMaximum") is True)
        return st.integers(low, high)
    if kind == "number":
        low = schema.get("minimum", 0)
        return st.floats(
            low,
            schema.get("maximum", low + 1000),
            exclude_min=schema.get("exclusiveMinimum") is True,
            exclude_max=schema.get("exclusiveMaximum") is True,
            allow_nan=False,
        )
    if kind == "boolean":
        return st.booleans()
    fmt = schema.get("format")
    if fmt == "binary":
        return st.just(FILE_CONTENT)
    if fmt == "uuid":
        return st.uuids().map(str)
    if fmt in FORMAT_VALUES:
        return st.just(FORMAT_VALUES[fmt])
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    low = int(schema.get("minLength", 0))
    high = min(int(schema.get("maxLength", low + MAX_TEXT)), low + MAX_TEXT)
    return st.text(ALPHABET, min_size=low, max_size=max(low, high))


def _as_json(value: Any) -> str:
    """A value as JSON compares it (uniqueItems): key order apart, `1` and `1.0` alike."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dict):
        return json.dumps({k: _as_json(v) for k, v in value.items()}, sort_keys=True)
    if isinstance(value, list):
        return json.dumps([_as_json(v) for v in value])
    return json.dumps(value, default=repr)


def pick(data: st.DataObject, items: Sequence[T], label: str) -> T:
    """One of `items`, drawn with a fixed-shape choice.

    The lists come from the server's answers (records, their values), so their length varies
    between runs; `sampled_from` over them would make hypothesis see a different choice for
    the same prefix and call the generation flaky.
    """
    return items[data.draw(st.integers(0, PICK_RANGE), label=label) % len(items)]


def body_strategy(op: Operation) -> st.SearchStrategy[Any]:
    """Request bodies for `op` as the lifecycle sends them (its first media type): never one
    that is sent as no content where the body is required (`requests.with_content`)."""
    if not op.request_schema:
        return st.just({})
    media = op.request_media_types[0] if op.request_media_types else None
    return strategy_for(op.request_schema).map(lambda body: with_content(op, media, body))


def property_schema(op: Operation, name: str) -> JSONObject:
    """The schema of a request body property or a parameter of the operation."""
    body = _merged(op.request_schema).get("properties", {})
    if name in body:
        return _merged(body[name])
    for param in op.parameters:
        if param["name"] == name:
            return _merged(param.get("schema"))
    return {}


def fits(schema: JSONObject, value: str) -> bool:
    if len(value) < int(schema.get("minLength", 0)):
        return False
    if len(value) > int(schema.get("maxLength", len(value))):
        return False
    return "pattern" not in schema or re.search(schema["pattern"], value) is not None


def free_marker(schema: JSONObject) -> str | None:
    """A value no other run has used, valid for the schema (customer ids and the like), or
    None when the schema does not let a string be free (an `enum`, a `format` other than
    `uuid`, a pattern or length no marker fits: the value then follows the schema instead)."""
    schema = _merged(schema)
    if schema.get("enum") or schema.get("type", "string") != "string":
        return None
    token = uuid.uuid4()
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(token)
    if fmt is not None:
        return None
    candidates = [token.hex[:16], "cus_" + token.hex[:12], token.hex, str(token)]
    return next((c for c in candidates if fits(schema, c)), None)


def unique_value(schema: JSONObject) -> str:
    """A free marker (`free_marker`) where the schema allows one, else a valid value."""
    marker = free_marker(schema)
    return marker if marker is not None else str(example_value(_merged(schema)))


def steer(magic: Magic, body: JSONObject, path: dict[str, str]) -> bool:
    """Change the inputs so that the magic value's `when` holds; False when it cannot."""
    return steer_when(magic.raw["when"], body, path)


def steer_when(when: Mapping[str, Any], body: JSONObject, path: dict[str, str]) -> bool:
    """Change the inputs so that the condition `when` holds; False when it cannot."""
    for where, test in when.items():
        root, *keys = where.split(".")
        if isinstance(test, Mapping):
            if "prefix" in test:
                value: Any = test["prefix"] + uuid.uuid4().hex[:12]
            elif test.get("in"):
                value = test["in"][0]
            else:
                return False
        else:
            value = test
        if root == "path" and len(keys) == 1:
            path[keys[0]] = str(value)
        elif root == "body" and keys:
            node = body
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = value
        else:
            return False
    return True


def model_body(body: JSONObject) -> JSONObject:
    """The body as the server's expressions see it (an upload is its file name and size)."""
    return {
        key: {"filename": FILE_NAME, "size": len(value)} if isinstance(value, bytes) else value
        for key, value in body.items()
    }
