"""Form bodies (`application/x-www-form-urlencoded`) as their Encoding Object spells them, both
ways: the fields a client sends for a value, and the value a server reads from the fields.

OpenAPI 3.0.3 §4.7.14 (Encoding Object) gives each property of a form body a `style` (`form`
by default, `deepObject`, `spaceDelimited`, `pipeDelimited`) and `explode` (true for `form`,
else false); a property with a JSON `contentType` is sent as JSON text. Form values are text
on the wire: `true`, `false`, numbers in their JSON spelling, nothing for `null`.

`deepObject` (always exploded) is how Stripe encodes every form body
(https://docs.stripe.com/api/metadata): one field per leaf, its path in brackets after the
property's name, the keys written as they are, with no escaping:

- `metadata[order_id]=42` is `{"metadata": {"order_id": "42"}}`, nested
  `options[document][require_id_number]=true` likewise;
- `tags[0]=a&tags[1]=b` is `{"tags": ["a", "b"]}` (indexes in numeric order, when the schema
  makes it an array), and so is `tags[]=a&tags[]=b`; where the schema makes it an object,
  `metadata[]=x` is the empty key.

Since keys are not escaped, a key may itself hold brackets. The reading rule: a bracketed
path is split at the first `]` (as Rack and Stripe read it) only where the key before it may
hold an object or an array by its schema; a key whose value is a declared scalar (Stripe's
`metadata`: `additionalProperties: {type: string}`) is the text between the first `[` and the
final `]`, so `metadata[a[b]=1` is the key `a[b` and `metadata[a]]=1` the key `a]`. Any key of
a map of scalars round-trips; a key with a `]` that would hold an object or an array cannot be
spelt, and is refused (`FormFieldError`, `UNREADABLE`).

An object property with no encoding declared takes the default, `style: form` with
`explode: true` (§4.7.14 and the Parameter Object's style table): its members are fields of
their own, `color` `{"R": 100, "G": 200}` is `R=100&G=200` (a nested member in brackets
after its key, read as above). The reading rule for such an exploded object
property: a field whose name is a top-level property of the body stays that property's; any
other field goes to the exploded object property whose `properties` declare its name (before
any `[`), else to the one exploded object property that takes any key (its
`additionalProperties` not `false`); a field nothing takes is refused (`UNKNOWN`) when the body
takes no other properties. A body where this is ambiguous is refused when the spec loads
(`ambiguity`): a member name two exploded objects declare, or one that is also a top-level
property, two exploded objects that take any key, or one that does next to a body that takes
any key too.

A leaf whose schema is an integer, number or boolean is read as one where its text is one
(else it stays text, for the schema to refuse).
"""

import json
import math
import re
from collections.abc import Mapping
from typing import Any

FORM_MEDIA = "application/x-www-form-urlencoded"
MAX_DEPTH = 32  # brackets in one field name

# The kinds of `FormFieldError`, each with the field name it is about.
REPEATED = "repeated"  # a leaf sent twice
CONFLICT = "conflict"  # a field that makes a text of a branch, or an array of an object
TOO_DEEP = "too_deep"  # more than MAX_DEPTH brackets
UNREADABLE = "unreadable"  # a key with a `]` in it that would hold an object or an array
UNKNOWN = "unknown"  # a field no property of a body that takes no other properties takes

# Why a form body's exploded object properties cannot be read back (`ambiguity`).
DECLARED_TWICE = (
    "the form field {key} could be a member of {first} or of {second} (both exploded `form` "
    "objects: an object property without an Encoding Object entry is sent as its members); "
    "declare one of them `style: deepObject` in the operation's `encoding`, or rename the member"
)
TOP_LEVEL_MEMBER = (
    "the form field {key} could be the body's property or a member of the exploded `form` "
    "object {owner}; declare {owner} `style: deepObject` in the operation's `encoding`, or "
    "rename the member"
)
OPEN_TWICE = (
    "{first} and {second} are exploded `form` objects that both take any key, so a form field "
    "that neither declares could be a member of either; declare one `style: deepObject` in the "
    "operation's `encoding`, or give it `additionalProperties: false`"
)
OPEN_BODY = (
    "the exploded `form` object {owner} takes any key and so does the body, so a form field "
    "that is not a property could be either's; give the body `additionalProperties: false`, or "
    "declare {owner} `style: deepObject` in the operation's `encoding`"
)

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_CONTAINERS = ("object", "array")
_DELIMITERS = {"spaceDelimited": " ", "pipeDelimited": "|", "form": ","}

Node = dict[str, Any] | list[Any]


class FormFieldError(ValueError):
    """A form field that spells no value: `kind` (one of `REPEATED`, `CONFLICT`, `TOO_DEEP`,
    `UNREADABLE`) and the field's `name` as sent."""

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind}: {name}")
        self.kind = kind
        self.name = name


def styles(encoding: Mapping[str, Any]) -> dict[str, tuple[str, bool, str | None]]:
    """Each property's declared `(style, explode, contentType)`, defaults filled in."""
    found = {}
    for name, given in encoding.items():
        declared = given if isinstance(given, Mapping) else {}
        style = str(declared.get("style", "form"))
        explode = bool(declared.get("explode", style == "form"))
        found[name] = (style, explode, declared.get("contentType"))
    return found


def deep_properties(encoding: Mapping[str, Any]) -> frozenset[str]:
    """The body properties an Encoding Object map declares `style: deepObject`."""
    return frozenset(
        name for name, (style, _, _) in styles(encoding).items() if style == "deepObject"
    )


def wire_text(value: Any) -> str:
    """A scalar as form text: JSON's spelling for booleans and numbers, `""` for null."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


def encode(payload: Mapping[str, Any], encoding: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The `(name, text)` fields that send an object as a form body with this Encoding Object
    map. An empty object or array, and a null, send no field."""
    declared = styles(encoding)
    fields: list[tuple[str, str]] = []
    for name, value in payload.items():
        style, explode, content_type = declared.get(name, ("form", True, None))
        if content_type is not None and "json" in content_type and not isinstance(value, str):
            fields.append((name, json.dumps(value, ensure_ascii=False)))
        elif style == "deepObject" and isinstance(value, (dict, list)):
            fields += _deep(name, value)
        elif isinstance(value, dict):
            fields += _object(name, value, style, explode)
        elif isinstance(value, list):
            fields += _array(name, value, style, explode)
        elif value is not None:
            fields.append((name, wire_text(value)))
    return fields


def carried(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What a form body carries of an object (what `encode` sends): its members without the
    nulls, empty objects and empty arrays that send no field, at any depth."""
    kept = {key: _carried(value) for key, value in payload.items()}
    return {key: value for key, value in kept.items() if not _empty(value)}


def _carried(value: Any) -> Any:
    if isinstance(value, dict):
        return carried(value)
    if isinstance(value, list):
        return [item for item in map(_carried, value) if not _empty(item)]
    return value


def _empty(value: Any) -> bool:
    return value is None or value in ({}, [])


def _deep(name: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _deep(f"{name}[{key}]", item)]
    if isinstance(value, list):
        return [
            pair for index, item in enumerate(value) for pair in _deep(f"{name}[{index}]", item)
        ]
    return [] if value is None else [(name, wire_text(value))]


def _object(name: str, value: dict[str, Any], style: str, explode: bool) -> list[tuple[str, str]]:
    if explode:  # form: each member its own field (a nested value in brackets)
        return [pair for key, item in value.items() for pair in _deep(key, item)]
    if not value:
        return []
    texts = [text for key, item in value.items() for text in (key, wire_text(item))]
    return [(name, _DELIMITERS.get(style, ",").join(texts))]


def _array(name: str, value: list[Any], style: str, explode: bool) -> list[tuple[str, str]]:
    if explode:
        return [(name, wire_text(item)) for item in value if item is not None]
    if not value:
        return []
    return [(name, _DELIMITERS.get(style, ",").join(map(wire_text, value)))]


def split_deep(name: str, deep: frozenset[str]) -> tuple[str, str] | None:
    """`(property, bracketed path)` for a field of a `deep` property (`metadata[a]` is
    `("metadata", "[a]")`), or None for any other field."""
    start = name.find("[")
    if start <= 0 or not name.endswith("]") or name[:start] not in deep:
        return None
    return name[:start], name[start:]


def exploded_objects(
    properties: Mapping[str, Any], encoding: Mapping[str, Any]
) -> dict[str, Mapping[str, Any]]:
    """The object properties of a form body sent as their members (`style: form`,
    `explode: true`, the default with no encoding declared; not as JSON text), by name."""
    declared = styles(encoding)
    found = {}
    for name, schema in properties.items():
        style, explode, content_type = declared.get(name, ("form", True, None))
        as_json = content_type is not None and "json" in content_type
        if _is_object(schema) and style != "deepObject" and explode and not as_json:
            found[name] = schema
    return found


def _takes_any(schema: Mapping[str, Any]) -> bool:
    return schema.get("additionalProperties", True) is not False


def ambiguity(schema: Mapping[str, Any], encoding: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why the fields of a form body (its schema, refs inlined, and Encoding Object map) could
    be read more than one way, as (the property at fault, message), or None (module's rule)."""
    properties = schema.get("properties") or {}
    exploded = exploded_objects(properties, encoding)
    owners: dict[str, str] = {}
    for owner, member in exploded.items():
        for key in member.get("properties") or {}:
            if key in properties:
                return owner, TOP_LEVEL_MEMBER.format(key=key, owner=owner)
            if key in owners:
                return owner, DECLARED_TWICE.format(key=key, first=owners[key], second=owner)
            owners[key] = owner
    open_ = [owner for owner, member in exploded.items() if _takes_any(member)]
    if len(open_) > 1:
        return open_[1], OPEN_TWICE.format(first=open_[0], second=open_[1])
    if open_ and _takes_any(schema):
        return open_[0], OPEN_BODY.format(owner=open_[0])
    return None


def _owner(key: str, exploded: Mapping[str, Mapping[str, Any]]) -> str | None:
    for name, member in exploded.items():
        if key in (member.get("properties") or {}):
            return name
    open_ = [name for name, member in exploded.items() if _takes_any(member)]
    return open_[0] if len(open_) == 1 else None


def split_exploded(name: str, exploded: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    """`(property, bracketed path)` for a field that is a member of an exploded object
    property (`R=100` is `("color", "[R]")`, `R[x]=1` `("color", "[R][x]")` where `R` may hold
    an object or an array, else `("color", "[R[x]]")`), or None when none takes it."""
    start = name.find("[")
    if start > 0 and name.endswith("]"):
        root = name[:start]
        owner = _owner(root, exploded)
        if owner is not None and _holds_container(_member(exploded[owner], root), only=False):
            return owner, f"[{root}]{name[start:]}"
    owner = _owner(name, exploded)
    return None if owner is None else (owner, f"[{name}]")


def fold(
    fields: Mapping[str, list[str]], schema: Mapping[str, Any], encoding: Mapping[str, Any]
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The fields that are a body's own properties (or that nothing takes, in a body that takes
    any property), as they came, and the value of each `deepObject` and exploded `form` object
    property the other fields spell, shaped by its schema (the body's `schema`, refs inlined,
    and its Encoding Object map `encoding`).

    Raises `FormFieldError` naming the field.
    """
    properties = schema.get("properties") or {}
    deep = deep_properties(encoding)
    exploded = exploded_objects(properties, encoding)
    plain: dict[str, list[str]] = {}
    trees: dict[str, Node] = {}
    for name, values in fields.items():
        split = split_deep(name, deep)
        if split is None and exploded and name.split("[", 1)[0] not in properties:
            split = split_exploded(name, exploded)
            if split is None and not _takes_any(schema):
                raise FormFieldError(UNKNOWN, name)
        if split is None:
            plain[name] = values
            continue
        root, path = split
        if root in fields:
            raise FormFieldError(CONFLICT, name)
        member = properties.get(root)
        fresh = _node_for(path, member, name)
        tree = trees.setdefault(root, fresh)
        if not isinstance(tree, type(fresh)):
            raise FormFieldError(CONFLICT, name)
        _insert(tree, path, member, values, name, 1)
    folded = {root: _shape(tree, properties.get(root)) for root, tree in trees.items()}
    return plain, folded


def decode(
    fields: Mapping[str, list[str]], schema: Mapping[str, Any], encoding: Mapping[str, Any]
) -> dict[str, Any]:
    """The object a form body's fields (each name's texts, in order) spell for its schema and
    Encoding Object map: `deepObject` and exploded `form` object properties folded, arrays
    split by their style, JSON `contentType` properties parsed, scalars read by their schema's
    type; a scalar sent twice stays the list of its texts (for the schema to refuse). Raises
    `FormFieldError`."""
    properties = schema.get("properties") or {}
    plain, value = fold(fields, schema, encoding)
    declared = styles(encoding)
    for name, texts in plain.items():
        prop = properties.get(name)
        prop = prop if isinstance(prop, Mapping) else {}
        style, explode, content_type = declared.get(name, ("form", True, None))
        if content_type is not None and "json" in content_type and len(texts) == 1:
            try:
                value[name] = json.loads(texts[0])
            except ValueError:
                value[name] = texts[0]
        elif prop.get("type") == "array":
            delimiter = _DELIMITERS.get(style, ",")
            items = texts if explode else [t for text in texts for t in text.split(delimiter)]
            kind = (prop.get("items") or {}).get("type")
            value[name] = [read_scalar(item, kind) for item in items]
        else:
            value[name] = read_scalar(texts[0], prop.get("type")) if len(texts) == 1 else texts
    return value


def _node_for(path: str, schema: Any, name: str) -> Node:
    """An array for a path whose first key is empty (`[]`), unless the schema makes it an
    object (then `[]` is the empty key); else an object."""
    return [] if _split(path, schema, name)[0] == "" and not _is_object(schema) else {}


def _is_object(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "object"


def _member(schema: Any, key: str) -> Any:
    """The schema of the value under `key` of an object or array schema (None: unknown)."""
    if not isinstance(schema, Mapping):
        return None
    if schema.get("type") == "array" or "items" in schema:
        return schema.get("items")
    properties = schema.get("properties") or {}
    if key in properties:
        return properties[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _holds_container(schema: Any, *, only: bool) -> bool:
    """Whether a value of the schema may be (with `only`: must be) an object or an array;
    a schema that does not say may be either."""
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    if kind is None:
        return not only
    kinds = kind if isinstance(kind, list) else [kind]
    return all(k in _CONTAINERS for k in kinds) if only else any(k in _CONTAINERS for k in kinds)


def _split(path: str, schema: Any, name: str) -> tuple[str, str]:
    """The first key of a bracketed path and the path after it (see the module's rule)."""
    close = path.index("]")
    key, after = path[1:close], path[close + 1 :]
    if after == "" or (
        after.startswith("[") and _holds_container(_member(schema, key), only=False)
    ):
        return key, after
    whole = path[1:-1]
    if _holds_container(_member(schema, whole), only=True):
        raise FormFieldError(UNREADABLE, name)
    return whole, ""


def _insert(node: Node, path: str, schema: Any, values: list[str], name: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FormFieldError(TOO_DEEP, name)
    head, rest = _split(path, schema, name)
    child_schema = _member(schema, head)
    if isinstance(node, list):
        if head != "":
            raise FormFieldError(CONFLICT, name)
        if not rest:
            node.extend(values)
            return
        for value in values:  # `a[][b]=x`: each value starts an element of its own
            child = _node_for(rest, child_schema, name)
            node.append(child)
            _insert(child, rest, child_schema, [value], name, depth + 1)
        return
    if head == "" and not _is_object(schema):
        raise FormFieldError(CONFLICT, name)
    if not rest:
        if head in node:
            raise FormFieldError(CONFLICT, name)
        if len(values) > 1:
            raise FormFieldError(REPEATED, name)
        node[head] = values[0]
        return
    fresh = _node_for(rest, child_schema, name)
    child = node.setdefault(head, fresh)
    if not isinstance(child, type(fresh)):
        raise FormFieldError(CONFLICT, name)
    _insert(child, rest, child_schema, values, name, depth + 1)


def _shape(node: Any, schema: Any) -> Any:
    schema = schema if isinstance(schema, Mapping) else {}
    kind = schema.get("type")
    if isinstance(node, str):
        return read_scalar(node, kind)
    if isinstance(node, list):
        return [_shape(item, schema.get("items")) for item in node]
    if kind == "array" and all(key.isascii() and key.isdigit() for key in node):
        return [_shape(node[key], schema.get("items")) for key in sorted(node, key=int)]
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    return {key: _shape(value, properties.get(key, extra)) for key, value in node.items()}


def read_scalar(text: str, kind: Any) -> Any:
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
