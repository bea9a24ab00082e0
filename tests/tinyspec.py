"""A tiny spec for tests of one extension at a time: one `thing` resource, changed per test."""

import copy
from pathlib import Path
from typing import Any

import yaml

THING = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "readOnly": True},
        "name": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time", "readOnly": True},
        "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
    },
}
_OK = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
_ERROR = {
    "description": "refused",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    },
}
ERRORS = dict.fromkeys(("400", "401", "404", "409", "413", "415", "422"), _ERROR)


def tiny_document(security_schemes: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI document: create, list and read `thing`, bearer auth unless told otherwise."""
    schemes = security_schemes or {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    first = next(iter(schemes))
    return copy.deepcopy(
        {
            "openapi": "3.0.3",
            "info": {"title": "Tiny", "version": "1"},
            "servers": [{"url": "https://tiny.example/v1"}],
            "security": [{first: []}],
            "x-errors": {"mediaType": "application/json", "body": {"error": "$detail"}},
            "x-resources": {
                "thing": {
                    "schema": "#/components/schemas/Thing",
                    "id": {"field": "id", "format": "thg_{lower:8}"},
                }
            },
            "paths": {
                "/things": {
                    "post": {
                        "operationId": "createThing",
                        "x-operation": {
                            "role": "create",
                            "resource": "thing",
                            "response": "$record",
                        },
                        "requestBody": {
                            "required": True,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                }
                            },
                        },
                        "responses": {"201": {"description": "created", **_OK}, **ERRORS},
                    },
                },
                "/things/{id}": {
                    "get": {
                        "operationId": "getThing",
                        "parameters": [
                            {
                                "name": "id",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "string"},
                            }
                        ],
                        "x-operation": {"role": "read", "resource": "thing", "response": "$record"},
                        "responses": {"200": {"description": "ok", **_OK}, **ERRORS},
                    }
                },
            },
            "components": {"schemas": {"Thing": THING}, "securitySchemes": schemes},
        }
    )


def write_spec(directory: Path, document: dict[str, Any], name: str = "tiny") -> Path:
    """Write the document as `<name>.yaml` in `directory` (for `create_app(specs_dir=...)`)."""
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def page_param(name: str, marker: str, **schema: Any) -> dict[str, Any]:
    """A query parameter marked `x-page: <marker>`."""
    return {"name": name, "in": "query", "x-page": marker, "schema": {"type": "string", **schema}}


def with_list(
    document: dict[str, Any], parameters: list[dict[str, Any]], response: dict[str, Any]
) -> dict[str, Any]:
    """Add `GET /things` (listThings) with these parameters and this response template."""
    fields: dict[str, Any] = {
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
        "has_more": {"type": "boolean"},
        "meta": {
            "type": "object",
            "properties": {
                name: {"type": "integer", "nullable": True}
                for name in ("page", "per_page", "total_count")
            },
        },
    }
    document["paths"]["/things"]["get"] = {
        "operationId": "listThings",
        "parameters": parameters,
        "x-operation": {"role": "list", "resource": "thing", "response": response},
        "responses": {
            "200": {
                "description": "a page",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {k: v for k, v in fields.items() if k in response},
                        }
                    }
                },
            },
            **ERRORS,
        },
    }
    return document
