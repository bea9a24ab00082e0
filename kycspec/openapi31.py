"""An OpenAPI 3.1 document as the equivalent 3.0.3 document (connexion reads 3.0 only).

OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0 schemas are an extended subset of draft 4/5.
Each construct with a 3.0 form is rewritten to it:

| 3.1 | 3.0 |
|---|---|
| `type: [T, "null"]`, `anyOf: [{type: T}, {type: "null"}]` | `type: T`, `nullable: true` |
| `{type: "null"}` (as one branch of several) | `{nullable: true, enum: [null]}` |
| `type: [T, U]` | `anyOf: [{type: T}, {type: U}]` |
| `const: v` | `enum: [v]` |
| `examples: [a, ...]` (in a schema) | `example: a` |
| `exclusiveMinimum: n` (a number) | `minimum: n`, `exclusiveMinimum: true` (and Maximum) |
| `contentEncoding: base64` / `contentMediaType` | `format: byte` / `format: binary` |
| `true` / `false` as a schema | `{}` / `{not: {}}` |
| `$ref` with sibling keywords | `allOf: [{$ref}]` beside them |
| `$schema`, `$id`, `$comment` | dropped |
| `webhooks`, `jsonSchemaDialect`, `info.summary`, `license.identifier` | dropped |
| an operation without `responses` (optional in 3.1) | `responses: {default: ...}`: any answer |
| role names in the security requirement of a scheme other than OAuth2/OpenID | `[]` |

Constructs with no 3.0 form (`NO_30_FORM`) are refused, each named with its JSON pointer.
"""

from typing import Any

from kycspec.problems import DocumentError, join

TARGET_VERSION = "3.0.3"
NO_30_FORM = (
    "if",
    "then",
    "else",
    "prefixItems",
    "dependentSchemas",
    "dependentRequired",
    "unevaluatedProperties",
    "unevaluatedItems",
    "patternProperties",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
    "$dynamicRef",
    "$dynamicAnchor",
    "$anchor",
    "$defs",
    "$recursiveRef",
)
# `{type: "null"}` in 3.0: only null is valid (connexion's `nullable` lets null pass `type`).
NULL_SCHEMA = {"nullable": True, "enum": [None]}
REFUSED = "OpenAPI 3.1 constructs with no 3.0 form (the mock serves 3.0): {found}"
DROPPED = ("$schema", "$id", "$comment")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SCHEMA_MAPS = ("properties",)
SCHEMA_ONE = ("items", "not", "additionalProperties")
REF_ANNOTATIONS = ("description", "summary", "title")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
UNDESCRIBED = {"default": {"description": "Not described by the document (OpenAPI 3.1)."}}
SCOPED_SCHEMES = ("oauth2", "openIdConnect")  # OpenAPI 3.0: only these list scopes


def to_openapi30(document: dict[str, Any], file: str) -> dict[str, Any]:
    """The 3.0.3 form of a 3.1 document; `DocumentError` lists what has none."""
    converter = _Converter()
    converted = converter.document(document)
    if converter.refused:
        found = ", ".join(f"{key} at {where}" for where, key in converter.refused)
        raise DocumentError(file, converter.refused[0][0], REFUSED.format(found=found))
    return converted


class _Converter:
    def __init__(self) -> None:
        self.refused: list[tuple[str, str]] = []

    def document(self, document: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in document.items() if k not in ("webhooks", "jsonSchemaDialect")}
        out["openapi"] = TARGET_VERSION
        info = dict(out.get("info", {}))
        info.pop("summary", None)
        if isinstance(info.get("license"), dict):
            info["license"] = {k: v for k, v in info["license"].items() if k != "identifier"}
        out["info"] = info
        out.setdefault("paths", {})
        components = dict(out.get("components", {}))
        components.pop("pathItems", None)
        schemas = components.get("schemas", {})
        components["schemas"] = {
            name: self.schema(schema, join("/components/schemas", name))
            for name, schema in schemas.items()
        }
        out["components"] = {
            key: value if key == "schemas" else self.walk(value, join("/components", key))
            for key, value in components.items()
        }
        out["paths"] = self.walk(out["paths"], "/paths")
        schemes = out["components"].get("securitySchemes", {})
        operations = [
            item[method]
            for item in out["paths"].values()
            for method in HTTP_METHODS
            if isinstance(item, dict) and isinstance(item.get(method), dict)
        ]
        for holder in (out, *operations):
            if isinstance(holder.get("security"), list):
                holder["security"] = _requirements_30(holder["security"], schemes)
        for operation in operations:
            operation.setdefault("responses", UNDESCRIBED)
        return out

    def walk(self, node: Any, at: str) -> Any:
        """Outside schemas: convert every `schema`, drop annotations beside a `$ref`."""
        if isinstance(node, list):
            return [self.walk(item, join(at, i)) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return {"$ref": node["$ref"]}
        out = {}
        for key, value in node.items():
            if key == "schema":
                out[key] = self.schema(value, join(at, key))
            elif key in ("example", "examples") or key.startswith("x-"):
                out[key] = value
            else:
                out[key] = self.walk(value, join(at, key))
        return out

    def schema(self, node: Any, at: str) -> Any:
        if node is True:
            return {}
        if node is False:
            return {"not": {}}
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        nullable = False
        for key, value in node.items():
            if key in NO_30_FORM:
                self.refused.append((join(at, key), key))
            elif key in DROPPED:
                continue
            elif key == "type":
                nullable |= self._type(value, out)
            elif key == "const":
                out["enum"] = [value]
            elif key == "examples" and isinstance(value, list):
                if value:
                    out.setdefault("example", value[0])
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
                out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
                out[key] = True
            elif key == "contentEncoding":
                if value == "base64":
                    out["format"] = "byte"
            elif key == "contentMediaType":
                out.setdefault("format", "binary")
            elif key in SCHEMA_LISTS:
                branches, null = self._branches(value, join(at, key))
                if null and len(branches) == 1 and "type" in branches[0] and key != "allOf":
                    out.update(branches[0])  # anyOf [T, null]: T, nullable
                    nullable = True
                elif null:
                    out[key] = [*branches, NULL_SCHEMA]
                elif branches:
                    out[key] = branches
            elif key in SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {n: self.schema(s, join(at, key, n)) for n, s in value.items()}
            elif key in SCHEMA_ONE and not isinstance(value, bool | list):
                out[key] = self.schema(value, join(at, key))
            else:
                out[key] = value
        if nullable:
            out["nullable"] = True
            if set(out) == {"nullable"}:
                return dict(NULL_SCHEMA)
        if "$ref" in out and len(out) > 1:
            ref = out.pop("$ref")
            if set(out) <= set(REF_ANNOTATIONS):
                return {"$ref": ref}
            out = {"allOf": [{"$ref": ref}, *out.pop("allOf", [])], **out}
        return out

    def _type(self, value: Any, out: dict[str, Any]) -> bool:
        """Write the 3.0 `type` (or `anyOf` of types); whether `null` was among them."""
        types = value if isinstance(value, list) else [value]
        concrete = [t for t in types if t != "null"]
        if len(concrete) == 1:
            out["type"] = concrete[0]
        elif concrete:
            out["anyOf"] = [{"type": t} for t in concrete]
        return len(concrete) < len(types)

    def _branches(self, value: Any, at: str) -> tuple[list[Any], bool]:
        """The converted branches other than `{type: null}`, and whether there was one."""
        branches = [self.schema(s, join(at, i)) for i, s in enumerate(value)]
        concrete = [b for b in branches if b != NULL_SCHEMA]
        return concrete, len(concrete) < len(branches)


def _requirements_30(requirements: list[Any], schemes: dict[str, Any]) -> list[Any]:
    """A security requirement list with role names kept only for OAuth2 and OpenID Connect
    schemes (OpenAPI 3.0.3, Security Requirement Object)."""
    return [
        {
            name: scopes if schemes.get(name, {}).get("type") in SCOPED_SCHEMES else []
            for name, scopes in requirement.items()
        }
        for requirement in requirements
        if isinstance(requirement, dict)
    ]
