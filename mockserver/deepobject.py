"""Form fields in `style: deepObject`, folded into the objects and arrays they stand for.

OpenAPI 3.0.3 §4.7.14 (Encoding Object) gives each property of an
`application/x-www-form-urlencoded` body a style; with `style: deepObject` (always exploded)
the property is sent as one field per leaf, its path in brackets after the property's name.
This is how Stripe encodes every form body (https://docs.stripe.com/api/metadata):

- `metadata[order_id]=42` is `{"metadata": {"order_id": "42"}}`, nested
  `options[document][require_id_number]=true` likewise;
- `tags[]=a&tags[]=b` is `{"tags": ["a", "b"]}`, and so is `tags[0]=a&tags[1]=b` when the
  property's schema is an array (indexes in numeric order).

A leaf whose schema is an integer, number or boolean is read as one where its text is one
(else it stays text, for the schema to refuse). A leaf sent twice, a field that makes a text
of a branch (or an array of an object), and a path deeper than `MAX_DEPTH` brackets are a 400.
"""

import math
import re
from collections.abc import Mapping
from typing import Any

from mockserver import errors

MAX_DEPTH = 32
_FIELD = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])+)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")

Node = dict[str, Any] | list[Any]


def deep_properties(encoding: Mapping[str, Any]) -> frozenset[str]:
    """The body properties an Encoding Object map declares `style: deepObject`."""
    return frozenset(
        name
        for name, declared in encoding.items()
        if isinstance(declared, Mapping) and declared.get("style") == "deepObject"
    )


def fold(
    fields: dict[str, list[str]], deep: frozenset[str], properties: Mapping[str, Any]
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The fields that are not bracketed paths under a `deep` property, as they came, and the
    value of each `deep` property they spell, shaped by its schema in `properties`.

    Raises `errors.InvalidRequest` (`PARAMETER_REPEATED`, `FORM_FIELD_CONFLICT`,
    `FORM_FIELD_TOO_DEEP`) naming the field.
    """
    plain: dict[str, list[str]] = {}
    trees: dict[str, Node] = {}
    for name, values in fields.items():
        match = _FIELD.fullmatch(name)
        if match is None or match.group(1) not in deep:
            plain[name] = values
            continue
        root, path = match.group(1), _SEGMENT.findall(match.group(2))
        if len(path) > MAX_DEPTH:
            raise errors.InvalidRequest(
                errors.FORM_FIELD_TOO_DEEP.format(name=errors.shown(name), limit=MAX_DEPTH)
            )
        if root in fields:
            raise _conflict(name)
        tree = trees.setdefault(root, _node_for(path[0]))
        if not isinstance(tree, type(_node_for(path[0]))):
            raise _conflict(name)
        _insert(tree, path, values, name)
    folded = {root: _shape(tree, properties.get(root)) for root, tree in trees.items()}
    return plain, folded


def _node_for(segment: str) -> Node:
    return [] if segment == "" else {}


def _conflict(name: str) -> errors.InvalidRequest:
    return errors.InvalidRequest(errors.FORM_FIELD_CONFLICT.format(name=errors.shown(name)))


def _insert(node: Node, path: list[str], values: list[str], name: str) -> None:
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        if head != "":
            raise _conflict(name)
        if not rest:
            node.extend(values)
            return
        for value in values:  # `a[][b]=x`: each value starts an element of its own
            child = _node_for(rest[0])
            node.append(child)
            _insert(child, rest, [value], name)
        return
    if head == "":
        raise _conflict(name)
    if not rest:
        if head in node:
            raise _conflict(name)
        if len(values) > 1:
            raise errors.InvalidRequest(errors.PARAMETER_REPEATED.format(name=errors.shown(name)))
        node[head] = values[0]
        return
    child = node.setdefault(head, _node_for(rest[0]))
    if not isinstance(child, type(_node_for(rest[0]))):
        raise _conflict(name)
    _insert(child, rest, values, name)


def _shape(node: Any, schema: Any) -> Any:
    schema = schema if isinstance(schema, Mapping) else {}
    kind = schema.get("type")
    if isinstance(node, str):
        return _scalar(node, kind)
    if isinstance(node, list):
        return [_shape(item, schema.get("items")) for item in node]
    if kind == "array" and all(key.isascii() and key.isdigit() for key in node):
        return [_shape(node[key], schema.get("items")) for key in sorted(node, key=int)]
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    return {key: _shape(value, properties.get(key, extra)) for key, value in node.items()}


def _scalar(text: str, kind: Any) -> Any:
    """Text read as the scalar type the schema declares, when it is one (OpenAPI form values
    are text on the wire)."""
    if kind == "integer" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and len(text) <= 64 and _NUMBER.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text
