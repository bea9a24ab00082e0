"""Cut a value down to what a response schema declares.

One stored record serves several documented response shapes (FinHub's initiate, submit and
status responses each show a different part of a verification); the schema decides which.
"""

from typing import Any

from kycspec.types import JSON, JSONObject


def _properties(schema: JSONObject) -> tuple[dict[str, JSONObject], Any]:
    """The declared properties (merging `allOf`) and `additionalProperties`."""
    properties: dict[str, JSONObject] = dict(schema.get("properties", {}))
    additional = schema.get("additionalProperties")
    for part in schema.get("allOf", []):
        sub_properties, sub_additional = _properties(part)
        properties.update(sub_properties)
        additional = additional if additional is not None else sub_additional
    return properties, additional


def project(value: JSON, schema: JSONObject | None) -> JSON:
    """The value with every undeclared object property removed, recursively.

    Properties come out in the schema's order, which is the order of the vendor's docs.
    """
    if schema is None:
        return value
    if isinstance(value, dict):
        properties, additional = _properties(schema)
        if not properties:
            return value if additional is not False else {}
        result = {
            key: project(value[key], sub_schema)
            for key, sub_schema in properties.items()
            if key in value
        }
        if additional is True or isinstance(additional, dict):
            result.update({k: v for k, v in value.items() if k not in properties})
        return result
    if isinstance(value, list):
        items = schema.get("items")
        return [project(item, items) for item in value]
    return value
