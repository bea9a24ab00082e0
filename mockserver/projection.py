"""Cut a value down to what a response schema declares.

One stored record serves several documented response shapes (FinHub's initiate, submit and
status responses each show a different part of a verification); the schema decides which.
Each schema is read once into a `Shape` (its declared properties, `allOf` merged), kept for
as long as the schema lives, so a response does not walk its schema again per record.
"""

from typing import Any

from kycspec.types import JSON, JSONObject

_CACHE_LIMIT = 4096


def _properties(schema: JSONObject) -> tuple[dict[str, JSONObject], Any]:
    """The declared properties (merging `allOf`) and `additionalProperties`."""
    properties: dict[str, JSONObject] = dict(schema.get("properties", {}))
    additional = schema.get("additionalProperties")
    for part in schema.get("allOf", []):
        sub_properties, sub_additional = _properties(part)
        properties.update(sub_properties)
        additional = additional if additional is not None else sub_additional
    return properties, additional


class Shape:
    """What a schema keeps of a value: `project` with the schema read once."""

    __slots__ = ("additional", "fields", "flat", "items", "listed", "properties", "schema")

    def __init__(self, schema: JSONObject):
        self.schema = schema  # kept alive, so its id() is not reused while cached
        self.properties, self.additional = _properties(schema)
        self.items: Any = schema.get("items")
        # (name, its schema, its shape or None where a value other than a list comes out as
        # it is: a boolean schema or one with no properties, items or `additionalProperties:
        # false`), filled in by `_shape` once this shape is cached, so a recursive schema
        # finds itself.
        self.fields: list[tuple[str, Any, Shape | None]] = []
        # The declared names, when an object keeps exactly those and each value as it is (no
        # field has a shape and no additional property is kept), also filled in by `_shape`.
        self.flat: tuple[str, ...] | None = None
        self.listed: tuple[str, ...] = ()  # of those, the fields whose value may be a list

    def project(self, value: JSON) -> JSON:
        if isinstance(value, dict):
            if self.flat is not None:
                return _flat(value, self.flat, self.listed)
            if not self.properties:
                return value if self.additional is not False else {}
            result = {}
            for key, schema, shape in self.fields:
                if key in value:
                    found = value[key]
                    if shape is not None:
                        found = shape.project(found)
                    elif isinstance(found, list):  # a new list, as for any other schema
                        found = project(found, schema)
                    result[key] = found
            additional = self.additional
            if additional is True or isinstance(additional, dict):
                result.update({k: v for k, v in value.items() if k not in self.properties})
            return result
        if isinstance(value, list):
            items = self.items
            if not isinstance(items, dict):
                return list(value)
            shape = _shape(items)
            names, listed = shape.flat, shape.listed
            if names is not None:  # a list of records: `_flat` straight away
                return [
                    _flat(item, names, listed) if isinstance(item, dict) else shape.project(item)
                    for item in value
                ]
            return [shape.project(item) for item in value]
        return value


_SHAPES: dict[int, Shape] = {}


def _shape(schema: JSONObject) -> Shape:
    found = _SHAPES.get(id(schema))
    if found is None or found.schema is not schema:
        if len(_SHAPES) >= _CACHE_LIMIT:
            _SHAPES.clear()
        found = _SHAPES[id(schema)] = Shape(schema)
        found.fields = [(key, sub, _field(sub)) for key, sub in found.properties.items()]
        plain = all(shape is None for _, _, shape in found.fields)
        kept = found.additional is True or isinstance(found.additional, dict)
        if found.properties and plain and not kept:
            found.flat = tuple(found.properties)
            found.listed = tuple(k for k, sub in found.properties.items() if _may_be_list(sub))
    return found


def _flat(value: JSONObject, names: tuple[str, ...], listed: tuple[str, ...]) -> JSONObject:
    """The object's fields of `names`, in that order, each value as it is but for a list in
    a field of `listed`, which comes out as a new list; the object itself when it is that
    already (nothing that reads a response changes it)."""
    kept = value if tuple(value) == names else {key: value[key] for key in names if key in value}
    for key in listed:
        if isinstance(kept.get(key), list):
            return {k: list(item) if isinstance(item, list) else item for k, item in kept.items()}
    return kept


def _may_be_list(schema: Any) -> bool:
    """Whether a value the schema allows may be an array: not when the schema, or one of its
    `allOf` parts, declares another `type` (a value that breaks its schema is no list to copy:
    the copy only keeps a response from sharing a list with the store)."""
    if not isinstance(schema, dict):
        return True
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind == "array"
    if isinstance(kind, list):  # OpenAPI 3.1
        return "array" in kind
    return all(_may_be_list(part) for part in schema.get("allOf", []))


def _field(schema: Any) -> Shape | None:
    if not isinstance(schema, dict):  # no schema, or a boolean one (OpenAPI 3.1): kept whole
        return None
    shape = _shape(schema)
    plain = not shape.properties and shape.additional is not False and shape.items is None
    return None if plain else shape


def project(value: JSON, schema: JSONObject | None) -> JSON:
    """The value with every undeclared object property removed, recursively.

    Properties come out in the schema's order, which is the order of the vendor's docs.
    """
    if schema is None or not isinstance(value, dict | list):
        return value
    if not isinstance(schema, dict):  # a boolean schema (OpenAPI 3.1)
        return list(value) if isinstance(value, list) else value
    return _shape(schema).project(value)
