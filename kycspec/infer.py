"""The `x-` extensions a plain document implies by REST conventions, for a human to review.

A collection path (`/pets`) with an item path below it (`/pets/{petId}`) is a resource:

| operation | role |
|---|---|
| `GET` collection | `list` (`response` is `$items`, or the object wrapping the array) |
| `POST` collection | `create` |
| `GET` item | `read` |
| `PUT` / `PATCH` item | `update` |
| `DELETE` item | `delete` |

The resource's schema is the item's `GET` response schema; its id field is the item path's
parameter (or `id`) when the schema has it; `uuid` ids keep their format, others get a 12
character id. A `status` or `state` property with an `enum` becomes a lifecycle in which every
state may be created and every update may move to any state (a starting point to narrow down).
Timestamps are the usual `created_at` / `createdAt` / `updated_at` / `updatedAt` fields.

What does not fit (an integer id, an operation of no resource, an operation with several 2xx
responses) is listed in `Inference.gaps`; a document with gaps is not made stateful.
"""

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kycspec.problems import pointer
from kycspec.refs import follow_refs
from kycspec.stateless import operations
from kycspec.types import JSONObject

STATUS_FIELDS = ("status", "state")
CREATED_FIELDS = ("created_at", "createdAt", "created", "creation_date", "createdDate")
UPDATED_FIELDS = ("updated_at", "updatedAt", "updated", "modified_at", "modifiedAt")
ITEM_ROLES = {"get": "read", "put": "update", "patch": "update", "delete": "delete"}
COLLECTION_ROLES = {"get": "list", "post": "create"}
NO_RESOURCE = "{method} {path}: no collection/item pair of paths to give it a role"
NO_ROLE = "{method} {path}: no role by REST conventions (an action on a record?)"
NO_SCHEMA = "{path}: no object schema for the resource (the item's GET response)"
INTEGER_ID = "{path}: the id field {field!r} is an integer; the mock generates string ids"
NO_ID = "{path}: the schema has no id field ({candidates})"
SEVERAL_2XX = "{method} {path}: several 2xx responses ({codes}); keep one"
NO_OPERATION_ID = "{method} {path}: no operationId"
_PARAM = re.compile(r"^\{([^}]+)\}$")


@dataclass
class Inference:
    """What the conventions imply: root extensions, per-operation `x-operation`, and gaps."""

    resources: dict[str, JSONObject] = field(default_factory=dict)
    operations: dict[tuple[str, str], JSONObject] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)
    explained: set[str] = field(default_factory=set)  # paths and operations a gap covers

    def applied(self, document: JSONObject) -> JSONObject:
        """A copy of the document with the inferred extensions written in."""
        out = copy.deepcopy(document)
        out["x-resources"] = copy.deepcopy(self.resources)
        for (path, method), extension in self.operations.items():
            out["paths"][path][method]["x-operation"] = copy.deepcopy(extension)
        return out

    def as_yaml(self) -> str:
        """The extensions as YAML to paste: `x-resources`, then each operation's `x-operation`."""
        parts = [yaml.safe_dump({"x-resources": self.resources}, sort_keys=False)]
        for (path, method), extension in self.operations.items():
            parts.append(f"# paths.{path}.{method}\n")
            parts.append(yaml.safe_dump({"x-operation": extension}, sort_keys=False))
        if self.gaps:
            parts.append("# not inferred:\n" + "".join(f"#   {gap}\n" for gap in self.gaps))
        return "".join(parts)


def infer(document: JSONObject) -> Inference:
    """The extensions REST conventions imply for a plain OpenAPI 3.0 document."""
    found = Inference()
    paths = document.get("paths", {})
    claimed: set[str] = set()
    for collection in paths:
        items = [p for p in paths if _is_item_of(p, collection)]
        if items:
            claimed.update((collection, items[0]))
            _resource(document, collection, items[0], found)
    for path, method, raw in operations(document):
        where = f"{method.upper()} {path}"
        if path not in claimed:
            found.gaps.append(NO_RESOURCE.format(method=method.upper(), path=path))
        elif (path, method) not in found.operations and not {path, where} & found.explained:
            found.gaps.append(NO_ROLE.format(method=method.upper(), path=path))
        elif (path, method) in found.operations and not raw.get("operationId"):
            found.gaps.append(NO_OPERATION_ID.format(method=method.upper(), path=path))
    return found


def _is_item_of(path: str, collection: str) -> bool:
    head, _, last = path.rpartition("/")
    return (
        head == collection
        and bool(_PARAM.match(last))
        and not _PARAM.match(collection.rpartition("/")[2])
    )


def _name(collection: str) -> str:
    segment = collection.rstrip("/").rpartition("/")[2]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", segment).replace("-", "_").lower()
    if words.endswith("ies"):
        return words[:-3] + "y"
    if words.endswith("s") and not words.endswith("ss"):
        return words[:-1]
    return words


def _success(document: JSONObject, raw: JSONObject) -> tuple[list[str], JSONObject | None, str]:
    """The 2xx codes, the first one's JSON schema, and that schema's pointer suffix."""
    responses = raw.get("responses", {})
    codes = sorted(code for code in responses if str(code).startswith("2"))
    for code in codes:
        for media, body in (follow_refs(document, responses[code]).get("content") or {}).items():
            if "json" in media and "schema" in body:
                return codes, body["schema"], pointer("responses", code, "content", media, "schema")
    return codes, None, ""


def _schema_ref(document: JSONObject, path: str, method: str) -> tuple[str, JSONObject] | None:
    raw = document["paths"][path].get(method)
    if not isinstance(raw, dict):
        return None
    _, schema, where = _success(document, raw)
    if schema is None:
        return None
    ref = schema.get("$ref") or "#" + pointer("paths", path, method) + where
    resolved = follow_refs(document, schema)
    if not isinstance(resolved, dict) or "properties" not in resolved:
        return None
    return str(ref), resolved


def _resource(document: JSONObject, collection: str, item: str, found: Inference) -> None:
    paths = document["paths"]
    schema = _schema_ref(document, item, "get") or _schema_ref(document, collection, "post")
    found.explained.update((collection, item))  # until the resource is accepted
    if schema is None:
        found.gaps.append(NO_SCHEMA.format(path=item))
        return
    ref, resolved = schema
    properties: JSONObject = resolved["properties"]
    param = _PARAM.match(item.rpartition("/")[2])
    name = _name(collection)
    candidates = [param.group(1) if param else "", "id", f"{name}_id", f"{name}Id"]
    id_field = next((c for c in candidates if c and c in properties), None)
    if id_field is None:
        found.gaps.append(NO_ID.format(path=item, candidates=", ".join(filter(None, candidates))))
        return
    id_schema = follow_refs(document, properties[id_field])
    if id_schema.get("type") == "integer":
        found.gaps.append(INTEGER_ID.format(path=item, field=id_field))
        return
    found.explained.difference_update((collection, item))
    resource: JSONObject = {
        "schema": ref,
        "id": {
            "field": id_field,
            "format": "{uuid}" if id_schema.get("format") == "uuid" else "{alnum:12}",
        },
    }
    timestamps = _timestamps(document, properties)
    if timestamps:
        resource["timestamps"] = timestamps
    roles: dict[tuple[str, str], str] = {}
    for path, table in ((collection, COLLECTION_ROLES), (item, ITEM_ROLES)):
        for method, role in table.items():
            if isinstance(paths[path].get(method), dict):
                roles[(path, method)] = role
    for (path, method), role in roles.items():
        raw = paths[path][method]
        codes, success_schema, _ = _success(document, raw)
        if len(codes) != 1:
            listed = ", ".join(codes) or "none"
            found.gaps.append(SEVERAL_2XX.format(method=method.upper(), path=path, codes=listed))
            found.explained.add(f"{method.upper()} {path}")
            continue
        extension: JSONObject = {"role": role, "resource": name}
        response = _response(document, role, success_schema)
        if response is not None:
            extension["response"] = response
        found.operations[(path, method)] = extension
    lifecycle = _lifecycle(document, properties, roles, name)
    if lifecycle:
        resource["lifecycle"] = lifecycle
    found.resources[name] = resource


def _timestamps(document: JSONObject, properties: JSONObject) -> JSONObject:
    created = next((f for f in CREATED_FIELDS if f in properties), None)
    updated = next((f for f in UPDATED_FIELDS if f in properties), None)
    if not created and not updated:
        return {}
    sample = follow_refs(document, properties[created or updated or ""])
    out: JSONObject = {"format": "unix" if sample.get("type") == "integer" else "rfc3339"}
    if created:
        out["created"] = created
    if updated:
        out["updated"] = updated
    return out


def _response(document: JSONObject, role: str, schema: JSONObject | None) -> Any:
    if schema is None:
        return None
    if role != "list":
        return "$record"
    resolved = follow_refs(document, schema)
    if resolved.get("type") == "array" or "items" in resolved:
        return "$items"
    wrapper: JSONObject = {}
    for key, prop in resolved.get("properties", {}).items():
        kind = follow_refs(document, prop).get("type")
        if kind == "array":
            wrapper[key] = "$items"
        elif key in ("has_more", "hasMore") and kind == "boolean":
            wrapper[key] = "$has_more"
    return wrapper if "$items" in wrapper.values() else "$items"


def _lifecycle(
    document: JSONObject,
    properties: JSONObject,
    roles: dict[tuple[str, str], str],
    name: str,
) -> JSONObject:
    status = next((f for f in STATUS_FIELDS if f in properties), None)
    if status is None:
        return {}
    states = follow_refs(document, properties[status]).get("enum")
    if not states or not all(isinstance(s, str) for s in states):
        return {}
    updates = [
        document["paths"][path][method].get("operationId")
        for (path, method), role in roles.items()
        if role == "update"
    ]
    transitions = [
        {"from": [s for s in states if s != target], "to": target, "via": {"operation": op}}
        for op in updates
        if op
        for target in states
        if len(states) > 1
    ]
    return {
        "field": status,
        "states": list(states),
        "initial": list(states),
        "default": states[0],
        "transitions": transitions,
    }
