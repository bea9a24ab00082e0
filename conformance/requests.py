"""Minimal valid requests for an operation, built from the spec alone.

The security and lifecycle layers need *one* well-formed request per operation (a body, a path,
the headers), not a stream of generated ones: a deterministic example builder is enough, and it
makes every transcript readable. The builder prefers what the spec author wrote (`example`,
`default`, the first `enum` value) and otherwise makes the smallest value the schema allows.

Public API (kept small on purpose, other layers reuse it):

- `valid_body(op, overrides)` -> `(content_type, payload)`;
- `with_content(op, media, payload)` -> the payload, with one field if it would be sent empty;
- `body_kwargs(op, content_type, payload)` -> keyword arguments for `TranscriptClient.request`;
- `path_for(op, record_id, params)` and `record_path(op, record, params)`;
- `headers_for(op, target, token)`, `params_for(op, token)` and `required_query(op)`.
"""

import itertools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from conformance.files import accept_for
from conformance.target import Target, credential_headers, credential_params
from kycspec.expressions import split_path
from kycspec.formfields import FORM_MEDIA, carried, wire_text
from kycspec.formfields import encode as encode_form
from kycspec.model import Operation
from kycspec.types import JSON, JSONObject

JSON_MEDIA = "application/json"
MULTIPART_MEDIA = "multipart/form-data"
FIELD_MEDIA = (FORM_MEDIA, MULTIPART_MEDIA)  # a body of named fields: no field, no content
FILE_CONTENT = b"%PDF-1.4\n% conformance test document\n"
FILE_NAME = "document.pdf"
FORMAT_VALUES = {
    "uuid": "3f1c2b8e-6a4d-4f5e-9b7a-2c8d1e0f4a6b",
    "date-time": "2024-01-15T10:30:00Z",
    "date": "2024-01-15",
    "email": "someone@example.com",
    "ipv4": "192.0.2.10",
    "uri": "https://example.com/",
}
# The patterns the builder can satisfy without an example: a literal prefix, then at most one
# character class with a quantifier (`^ref_[a-z0-9]+$`, `^[A-Za-z0-9]{16}$`).
SIMPLE_PATTERN = re.compile(
    r"\^?(?P<prefix>[\w-]*)"
    r"(?:\[(?P<chars>[^\]\\]+)\](?P<count>\{(?P<low>\d+)(?P<open>,\d*)?\}|[+*?])?)?\$?"
)
CLASS_CHOICES = "a0A_-"
NO_PATTERN_EXAMPLE = "no example for pattern {pattern!r}; add an `example` to the spec"
NO_DISTINCT_ITEMS = (
    "no {count} distinct items for a uniqueItems array of {items}; add an `example` to the spec"
)
MAX_VARIANTS = 64  # candidates tried for the distinct items of a uniqueItems array


class ExampleError(ValueError):
    """The builder cannot make a value for a schema (add an `example` to the spec)."""


def example_value(schema: JSONObject | None) -> JSON:
    """The simplest value that validates against the schema (refs already inlined)."""
    schema = schema or {}
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    if "allOf" in schema:
        merged: JSONObject = {}
        for part in schema["allOf"]:
            merged.update(part)
        return example_value({**merged, **{k: v for k, v in schema.items() if k != "allOf"}})
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return example_value(schema[key][0])
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            name: example_value(properties.get(name))
            for name in schema.get("required", [])
            if not properties.get(name, {}).get("readOnly")
        }
    if kind == "array":
        items = schema.get("items") or {}
        count = schema.get("minItems", 0)
        if schema.get("uniqueItems"):
            return _distinct_items(items, count)
        return [example_value(items) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 1)
        return low + 1 if schema.get("exclusiveMinimum") is True else low
    if kind == "boolean":
        return True
    return _example_string(schema)


def _example_string(schema: JSONObject) -> JSON:
    fmt = schema.get("format")
    if fmt == "binary":
        return FILE_CONTENT
    if fmt in FORMAT_VALUES:
        return FORMAT_VALUES[fmt]
    size = max(int(schema.get("minLength", 1)), 1)
    pattern = schema.get("pattern")
    if pattern is None:
        text = "conformance"[: schema.get("maxLength", 11)]
        return text + "x" * max(0, size - len(text))
    matching = pattern_example(pattern, size)
    if matching is None:
        raise ExampleError(NO_PATTERN_EXAMPLE.format(pattern=pattern))
    return matching


def _distinct_items(items: JSONObject, count: int) -> list[JSON]:
    """`count` different valid items: a `uniqueItems` array never repeats one (JSON Schema
    validation section 6.4.3; equal as JSON values, so key order does not make two differ).

    Raises `ExampleError` when the item schema allows fewer distinct values the builder finds.
    """
    found: dict[str, JSON] = {}
    for value in itertools.islice(_variants(items), MAX_VARIANTS):
        found.setdefault(json.dumps(value, sort_keys=True), value)
        if len(found) >= count:
            return list(found.values())[:count]
    if count == 0:
        return []
    raise ExampleError(NO_DISTINCT_ITEMS.format(count=count, items=json.dumps(items)))


def _variants(schema: JSONObject) -> Iterator[JSON]:
    """Valid values for a schema, the simplest first, differing where the schema lets them."""
    yield example_value(schema)
    if schema.get("enum"):
        yield from schema["enum"]
        return
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if kind in ("integer", "number"):
        low = example_value({k: v for k, v in schema.items() if k not in ("example", "default")})
        high = schema.get("maximum", low + MAX_VARIANTS)
        below = schema.get("exclusiveMaximum") is True
        yield from itertools.takewhile(
            lambda n: n < high or (n == high and not below), (low + n for n in range(MAX_VARIANTS))
        )
    elif kind == "boolean":
        yield from (True, False)
    elif kind == "object":
        base = example_value(schema)
        properties = schema.get("properties", {})
        for name in base if isinstance(base, dict) else ():
            for value in itertools.islice(_variants(properties.get(name) or {}), MAX_VARIANTS):
                yield {**base, name: value}
    elif kind == "string" and "pattern" not in schema and schema.get("format") != "binary":
        yield from string_variants(schema)


def string_variants(schema: JSONObject) -> Iterator[str]:
    """Strings of the schema's format (one of `FORMAT_VALUES`') or length, each ending in
    another counter."""
    fmt = schema.get("format")
    for number in range(MAX_VARIANTS):
        if fmt == "uuid":
            yield f"{FORMAT_VALUES['uuid'][:-2]}{number:02x}"
        elif fmt == "date":
            yield f"2024-01-{number % 28 + 1:02d}"
        elif fmt == "date-time":
            yield f"2024-01-15T10:{number % 60:02d}:00Z"
        elif fmt == "email":
            yield f"someone{number}@example.com"
        elif fmt == "uri":
            yield f"https://example.com/{number}"
        elif fmt is None:
            text = str(_example_string({k: v for k, v in schema.items() if k != "example"}))
            counter = str(number)
            if len(counter) > len(text):
                return
            yield text[: len(text) - len(counter)] + counter


def pattern_example(pattern: str, size: int = 1) -> str | None:
    """The shortest string of at least `size` characters a simple pattern matches, or None."""
    parsed = SIMPLE_PATTERN.fullmatch(pattern)
    if parsed is None:
        return None
    text = parsed["prefix"]
    if parsed["chars"] is not None:
        char = next((c for c in CLASS_CHOICES if re.fullmatch(f"[{parsed['chars']}]", c)), None)
        if char is None:
            return None
        count = parsed["count"] or "+"
        repeats = count in ("+", "*") or bool(parsed["open"])
        low = int(parsed["low"]) if parsed["low"] else int(count == "+")
        text += char * (max(low, size - len(text)) if repeats else low)
    return text if re.search(pattern, text) and len(text) >= size else None


def _merge(base: JSON, overrides: Mapping[str, Any]) -> JSON:
    if not isinstance(base, dict):
        return dict(overrides)
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def valid_body(
    op: Operation, overrides: Mapping[str, Any] | None = None
) -> tuple[str | None, JSON]:
    """A valid request body for the operation: `(content_type, payload)`, or `(None, None)`.

    JSON is preferred when the operation accepts it; otherwise the first declared media type.
    `overrides` are merged into the payload (nested objects merge too).
    """
    if not op.request_media_types:
        return None, None
    media = JSON_MEDIA if JSON_MEDIA in op.request_media_types else op.request_media_types[0]
    payload = example_value(op.request_schema)
    if overrides:
        payload = _merge(payload, overrides)
    return media, with_content(op, media, payload)


def with_content(op: Operation, media: str | None, payload: JSON) -> JSON:
    """The payload as the media type carries it (a form drops nulls and empty objects and
    arrays, which send no field: `kycspec.formfields.carried`), with one optional field added
    when the operation requires a body and the payload is an empty object sent as fields (a
    form, multipart): an empty form is no content at all (RFC 9110 section 8.6), which a server
    may refuse as a missing required body (OpenAPI 3.0.3 section 4.7.13, `required`). A scalar
    field is preferred (a form carries it plainly)."""
    if media == FORM_MEDIA and isinstance(payload, dict):
        payload = carried(payload)
    if payload or payload is None or not op.body_required or media not in FIELD_MEDIA:
        return payload
    properties = (op.request_schema or {}).get("properties", {})
    status = op.resource.status_field
    writable = [(k, v) for k, v in properties.items() if not v.get("readOnly") and k != status]
    scalar = [(k, v) for k, v in writable if v.get("type", "string") not in ("object", "array")]
    for name, schema in (scalar or writable)[:1]:
        return {name: example_value(schema)}
    return payload


def body_kwargs(op: Operation, content_type: str | None, payload: JSON) -> dict[str, Any]:
    """Keyword arguments for `TranscriptClient.request` that send the payload as its type.

    A form body follows the operation's Encoding Object for that media type
    (`kycspec.formfields.encode`: `metadata[k]=v` for `deepObject`, `k=v` for an exploded
    `form` object, booleans and numbers in their JSON spelling). A multipart part of an object
    or an array is its JSON text (OpenAPI 3.0.3 §4.7.14: `application/json` is the default
    `contentType` of an object property), a file part (bytes) a PDF.
    """
    if content_type is None:
        return {}
    if content_type == MULTIPART_MEDIA:
        fields = payload if isinstance(payload, dict) else {}
        data = {k: _part_text(v) for k, v in fields.items() if not isinstance(v, bytes)}
        files = {
            k: (FILE_NAME, v, "application/pdf") for k, v in fields.items() if isinstance(v, bytes)
        }
        return {"data": data, "files": files}
    if content_type == FORM_MEDIA:
        encoding = op.request_encodings.get(content_type, {})
        pairs = encode_form(payload if isinstance(payload, dict) else {}, encoding)
        grouped: dict[str, list[str]] = {}
        for name, text in pairs:
            grouped.setdefault(name, []).append(text)
        return {"data": grouped}
    return {"json": payload, "media_type": content_type}


def _part_text(value: JSON) -> str | list[str]:
    """A multipart field's text: JSON for an object, one part per item of an array (an
    object or array item as JSON)."""
    if isinstance(value, list):
        return [_json_text(item) for item in value]
    return _json_text(value)


def _json_text(value: JSON) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return wire_text(value)


def _param_schema(param: JSONObject) -> JSONObject:
    schema = dict(param.get("schema", {}))
    if "example" in param:
        schema["example"] = param["example"]
    return schema


def parameter_example(param: JSONObject) -> JSON:
    """A valid value for a parameter: its own `example`, else one its schema allows."""
    return example_value(_param_schema(param))


def path_for(
    op: Operation, record_id: str | None = None, params: Mapping[str, str] | None = None
) -> str:
    """The operation's path with its parameters filled in.

    The last path parameter (the one naming the record) takes `record_id`; the others take
    `params`, or the spec's example for them.
    """
    values = dict(params or {})
    path = op.path
    for param in op.parameters:
        if param.get("in") != "path":
            continue
        name = param["name"]
        value: JSON = record_id
        if name != op.path_param or record_id is None:
            value = values.get(name, parameter_example(param))
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def record_key(op: Operation, record: Mapping[str, Any]) -> str | None:
    """The value that names `record` in the operation's path (its id, or its lookup field)."""
    field = op.lookup.field if op.lookup else op.resource.id_field
    value = record.get(field)
    return None if value is None else str(value)


def record_path(
    op: Operation, record: Mapping[str, Any], params: Mapping[str, str] | None = None
) -> str:
    """The operation's path for a stored record."""
    return path_for(op, record_key(op, record), params)


def headers_for(op: Operation, target: Target, token: str | None) -> dict[str, str]:
    """The credential (as the operation's security scheme carries it) plus every required header,
    and the `Accept` of an operation that answers files (`conformance.files`).

    A header that partitions records (FinHub's `X-Tenant-ID`) takes `target.tenant`, so every
    request of a run stays in its own partition; the others take the spec's example.
    """
    headers = {**accept_for(op), **credential_headers(op, token)}
    partition = {
        keys[0].lower()
        for root, keys in map(split_path, op.resource.partition)
        if root == "header" and keys
    }
    for param in op.parameters:
        if param.get("in") != "header" or not param.get("required"):
            continue
        name = param["name"]
        if name.lower() in partition:
            headers[name] = target.tenant
        else:
            headers[name] = str(parameter_example(param))
    return headers


def required_query(op: Operation) -> dict[str, str]:
    """Every required query parameter with a valid value (its `example`, else one its schema
    allows: `parameter_example`), as the query string carries it (OpenAPI 3.0.3 section
    4.7.12, `required`)."""
    return {
        param["name"]: wire_text(parameter_example(param))
        for param in op.parameters
        if param.get("in") == "query" and param.get("required")
    }


def params_for(op: Operation, token: str | None) -> dict[str, str]:
    """The query parameters a request needs before any of its own: the required ones
    (`required_query`) and an API key `in: query`."""
    return {**required_query(op), **credential_params(op, token)}
