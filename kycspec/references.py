"""Field references of the `x-` extensions, checked against the record schemas at load.

The vocabulary (`kycspec.vocabulary`) checks shapes; this module checks that every record
field a declaration names is a property of the resource's record schema, so that a typo is
refused at load instead of filtering nothing, never firing a clock or storing null:

- fields written or read by name: `id.field`, `lifecycle.field`, the keys of `defaults`,
  `derived`, `lifecycle.on-enter.<state>`, `parent.on-enter.<state>`, `records.set`,
  `x-operation.set`, `x-sandbox.magic[].set`, `x-operation.lookup.field`,
  `x-operation.collect.into`, a query parameter's `x-filter.field` (the parameter's name when
  it has none), a transition's `via.clock`;
- record paths in values and conditions: `$record.<path>`, `$count:<field>`,
  `{record.<path>}` in `$text:` templates, `record.<path>` keys of guard and magic
  conditions, wherever a value stands (operation `response`, `set`, `collect`, response
  header `x-value`, webhook `payload`, feed `set`, `on-enter`, `defaults`, `derived`).

A schema is followed through `allOf`/`oneOf`/`anyOf` and local `$ref`s. A schema that is
open (declares no `properties`, or allows `additionalProperties` explicitly) accepts any
field below it. A clock field must be a date or date-time (`format: date`, `date-time`) or a
Unix timestamp (`type: integer` or `number`). The `timestamps` fields are not checked: the
engine writes them on every record whether the schema shows them or not.
"""

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from kycspec.model import Resource
from kycspec.problems import join, pointer
from kycspec.refs import follow_refs
from kycspec.types import JSONObject

NOT_A_PROPERTY = "field {field!r} is not a property of resource {resource!r} ({hint}known: {known})"
DID_YOU_MEAN = "did you mean {match!r}? "
NOT_A_TIME = (
    "clock field {field!r} of resource {resource!r} is not a time; allowed: a date or "
    "date-time (type: string, format: date or date-time) or a Unix timestamp "
    "(type: integer or number)"
)
_TIME_FORMATS = ("date", "date-time")
_TIME_TYPES = ("integer", "number")
_PLACEHOLDER = re.compile(r"\{record((?:\.[^{}.]+)*)\}")
_MERGERS = ("allOf", "oneOf", "anyOf")


class ReferenceProblem(ValueError):
    """A declaration names a field its resource does not have: where (a JSON pointer), what."""

    def __init__(self, at: str, problem: str):
        self.pointer = at
        self.problem = problem
        super().__init__(f"{at}: {problem}")


def check(document: JSONObject, resources: Mapping[str, Resource]) -> None:
    """Raise `ReferenceProblem` for the first field reference that names no property."""
    fields = _Fields(document)
    for name, raw in document.get("x-resources", {}).items():
        _check_resource(fields, resources, resources[name], raw, pointer("x-resources", name))
    for path, item in document.get("paths", {}).items():
        for method, raw in item.items():
            extension = raw.get("x-operation") if isinstance(raw, dict) else None
            if isinstance(extension, dict):
                at = pointer("paths", path, method)
                resource = resources[extension["resource"]]
                _check_operation(fields, resource, item, raw, at)
    _check_magic(fields, document, resources)
    for name, event in document.get("x-webhooks", {}).get("events", {}).items():
        at = pointer("x-webhooks", "events", name, "payload")
        fields.values(resources[event["resource"]], event["payload"], at)


def _check_resource(
    fields: "_Fields",
    resources: Mapping[str, Resource],
    resource: Resource,
    raw: Mapping[str, Any],
    at: str,
) -> None:
    fields.name(resource, (raw["id"]["field"],), join(at, "id", "field"))
    for key in ("defaults", "derived"):
        fields.assignments(resource, raw.get(key, {}), join(at, key))
    lifecycle = raw.get("lifecycle")
    if lifecycle is not None:
        fields.name(resource, (lifecycle["field"],), join(at, "lifecycle", "field"))
        for state, values in lifecycle.get("on-enter", {}).items():
            fields.assignments(resource, values, join(at, "lifecycle", "on-enter", state))
        for number, transition in enumerate(lifecycle.get("transitions", [])):
            here = join(at, "lifecycle", "transitions", number)
            clock = transition.get("via", {}).get("clock")
            if clock is not None:
                fields.clock(resource, clock, join(here, "via", "clock"))
            for index, guard in enumerate(transition.get("guards", [])):
                for key in ("when", "require"):
                    where = join(here, "guards", index, key)
                    fields.condition(resource, guard.get(key, {}), where)
    parent = raw.get("parent", {})
    for state, values in parent.get("on-enter", {}).items():
        fields.assignments(resource, values, join(at, "parent", "on-enter", state))
    feed = raw.get("records")
    if feed is not None:
        for key, value in feed.get("set", {}).items():
            if key.startswith("x-"):
                continue
            fields.name(resource, (key,), join(at, "records", "set", key))
            for source in feed["of"]:
                fields.values(resources[source], value, join(at, "records", "set", key))


def _check_operation(
    fields: "_Fields",
    resource: Resource,
    path_item: Mapping[str, Any],
    raw: Mapping[str, Any],
    at: str,
) -> None:
    extension = raw["x-operation"]
    here = join(at, "x-operation")
    if "lookup" in extension:
        fields.name(resource, (extension["lookup"]["field"],), join(here, "lookup", "field"))
    fields.assignments(resource, extension.get("set", {}), join(here, "set"))
    collect = extension.get("collect")
    if collect is not None:
        fields.name(resource, (collect["into"],), join(here, "collect", "into"))
        fields.values(resource, "$" + collect["key"], join(here, "collect", "key"))
        fields.values(resource, collect["item"], join(here, "collect", "item"))
    if "response" in extension:
        fields.values(resource, extension["response"], join(here, "response"))
    listed = [
        (join(at[: at.rindex("/")], "parameters", n), p)
        for n, p in enumerate(path_item.get("parameters", []))
    ]
    listed += [(join(at, "parameters", n), p) for n, p in enumerate(raw.get("parameters", []))]
    for spot, node in listed:
        param, where = fields.resolve(node, spot)
        if isinstance(param.get("x-filter"), dict):
            name = param["x-filter"].get("field", param["name"])
            fields.name(resource, (name,), join(where, "x-filter"))
    for code, node in raw.get("responses", {}).items():
        response, where = fields.resolve(node, join(at, "responses", code))
        for header_name, header_node in (response.get("headers") or {}).items():
            header, spot = fields.resolve(header_node, join(where, "headers", header_name))
            if "x-value" in header:
                fields.values(resource, header["x-value"], join(spot, "x-value"))


def _check_magic(
    fields: "_Fields", document: JSONObject, resources: Mapping[str, Resource]
) -> None:
    by_operation = {
        raw["operationId"]: resources[raw["x-operation"]["resource"]]
        for item in document.get("paths", {}).values()
        for raw in item.values()
        if isinstance(raw, dict) and "operationId" in raw and "x-operation" in raw
    }
    for number, magic in enumerate(document.get("x-sandbox", {}).get("magic", [])):
        at = pointer("x-sandbox", "magic", number)
        for operation in magic["operations"]:
            resource = by_operation.get(operation)
            if resource is not None:  # an unknown operation is kycspec.consistency's to report
                fields.condition(resource, magic["when"], join(at, "when"))
                fields.assignments(resource, magic["set"], join(at, "set"))


def declared_fields(document: JSONObject, resource: Resource) -> frozenset[str]:
    """The top-level fields the resource's record schema declares as `properties` (through
    `allOf`, `oneOf`, `anyOf` and `$ref`); an open schema declares only those it names."""
    parts = _Fields(document).parts(resource.schema)
    return frozenset(name for part in parts for name in part.get("properties", {}))


class _Fields:
    """Checks field names against the record schemas of one document."""

    def __init__(self, document: JSONObject):
        self.document = document

    def resolve(self, node: Any, at: str) -> tuple[Mapping[str, Any], str]:
        """The node a local `$ref` points at, and its pointer (the node itself when none)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            at = ref[1:] if ref.startswith("#/") else at
            node = follow_refs(self.document, {"$ref": ref})
        return node if isinstance(node, dict) else {}, at

    def name(self, resource: Resource, path: tuple[str, ...], at: str) -> None:
        """Refuse a field path the resource's record schema does not have."""
        self._schema_at(resource, path, at)

    def clock(self, resource: Resource, field: str, at: str) -> None:
        """Refuse a clock field that is not a property, or is not a time."""
        schema = self._schema_at(resource, (field,), at)
        if schema is None:
            return
        types, formats = self._kinds(schema)
        if not (formats & set(_TIME_FORMATS) or types & set(_TIME_TYPES)):
            raise ReferenceProblem(at, NOT_A_TIME.format(field=field, resource=resource.name))

    def assignments(self, resource: Resource, values: Mapping[str, Any], at: str) -> None:
        """Keys that name fields of the record, each with a value that may read the record."""
        for key, value in values.items():
            if key.startswith("x-"):
                continue
            self.name(resource, (key,), join(at, key))
            self.values(resource, value, join(at, key))

    def condition(self, resource: Resource, condition: Mapping[str, Any], at: str) -> None:
        """`record.<path>` keys of a condition, and record paths in its tests' arguments."""
        for key, test in condition.items():
            root, *rest = key.split(".")
            if root == "record" and rest:
                self.name(resource, tuple(rest), join(at, key))
            self.values(resource, test, join(at, key))

    def values(self, resource: Resource, value: Any, at: str) -> None:
        """Record paths in a value: `$record.<path>`, `$count:<field>`, `{record.<path>}`."""
        for path, where in _record_paths(value, at):
            self.name(resource, path, where)

    def _schema_at(
        self, resource: Resource, path: tuple[str, ...], at: str
    ) -> Mapping[str, Any] | None:
        """The schema of the field at the path (None below an open schema)."""
        schema: Mapping[str, Any] = resource.schema
        for depth, part in enumerate(path):
            properties = self._properties(schema)
            if properties is None:
                return None
            if part not in properties:
                field = ".".join(path[: depth + 1])
                raise ReferenceProblem(at, _not_a_property(field, resource.name, properties))
            schema = properties[part]
        return schema

    def parts(self, schema: Any) -> Iterator[Mapping[str, Any]]:
        """The schema and the schemas it combines (`allOf`, `oneOf`, `anyOf`), refs followed."""
        node = follow_refs(self.document, schema)
        if not isinstance(node, dict):
            return
        yield node
        for key in _MERGERS:
            for part in node.get(key, []):
                yield from self.parts(part)

    def _properties(self, schema: Mapping[str, Any]) -> dict[str, Any] | None:
        """The declared properties, or None when the schema accepts any (it is open)."""
        found: dict[str, Any] = {}
        for part in self.parts(schema):
            extra = part.get("additionalProperties")
            if extra is True or isinstance(extra, dict):
                return None
            found.update(part.get("properties", {}))
        return found or None

    def _kinds(self, schema: Mapping[str, Any]) -> tuple[set[str], set[str]]:
        types: set[str] = set()
        formats: set[str] = set()
        for part in self.parts(schema):
            kind = part.get("type")
            types.update(kind if isinstance(kind, list) else [kind] if kind else [])
            if "format" in part:
                formats.add(str(part["format"]))
        return types, formats


def _not_a_property(field: str, resource: str, properties: Mapping[str, Any]) -> str:
    leaf = field.rsplit(".", 1)[-1]
    matches = difflib.get_close_matches(leaf, list(properties), n=1)
    hint = DID_YOU_MEAN.format(match=matches[0]) if matches else ""
    return NOT_A_PROPERTY.format(
        field=field, resource=resource, hint=hint, known=", ".join(properties)
    )


def _record_paths(value: Any, at: str) -> Iterator[tuple[tuple[str, ...], str]]:
    """Each record path a value reads, with the pointer of the string that reads it."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _record_paths(item, join(at, key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _record_paths(item, join(at, number))
    elif isinstance(value, str):
        if value.startswith("$record."):
            yield tuple(value[len("$record.") :].split(".")), at
        elif value.startswith("$count:"):
            yield (value[len("$count:") :],), at
        elif value.startswith("$text:"):
            for match in _PLACEHOLDER.finditer(value):
                if match.group(1):
                    yield tuple(match.group(1)[1:].split(".")), at
