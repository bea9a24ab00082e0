"""Plain OpenAPI documents (no `x-` behaviour): recognised and compiled for stateless serving.

A document declares behaviour with `x-resources` and an `x-operation` on every operation
(specs/README.md). One with neither is a plain document: the mock serves it like Prism does,
from its examples and schemas, and says what to add to make it stateful.
"""

import re
from typing import Any
from urllib.parse import urlparse

from kycspec.expressions import compile_value
from kycspec.model import ApiSpec, ErrorFormat
from kycspec.refs import follow_refs
from kycspec.types import JSONObject

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM_BODY = {"title": "$title", "status": "$status", "detail": "$detail"}
MAKE_STATEFUL = (
    "add x-resources and an x-operation on every operation (specs/README.md), "
    "or start with --infer to derive them from REST conventions"
)


def operations(document: JSONObject) -> list[tuple[str, str, JSONObject]]:
    """Every operation of the document as (path, method, operation object)."""
    return [
        (path, method, item[method])
        for path, item in document.get("paths", {}).items()
        for method in HTTP_METHODS
        if isinstance(item, dict) and isinstance(item.get(method), dict)
    ]


def is_plain(document: JSONObject) -> bool:
    """No `x-resources` and no `x-operation` anywhere: nothing declares behaviour."""
    return "x-resources" not in document and not any(
        "x-operation" in op for _, _, op in operations(document)
    )


def base_path(document: JSONObject) -> str:
    """The path of the first server URL, its variables at their defaults (`/v1`, or ``)."""
    servers = document.get("servers") or [{"url": "/"}]
    server: dict[str, Any] = servers[0]
    variables = server.get("variables", {})
    url = re.sub(
        r"\{([^}]+)\}",
        lambda m: str(variables.get(m.group(1), {}).get("default", "")),
        str(server.get("url", "/")),
    )
    return urlparse(url).path.rstrip("/")


# Error body fields a plain document's error schema usually has, and what fills them.
ERROR_FIELDS = {
    "string": {
        "message": "$detail",
        "detail": "$detail",
        "error": "$detail",
        "description": "$detail",
        "error_description": "$detail",
        "title": "$title",
        "code": "$code",
    },
    "integer": {"code": "$status", "status": "$status", "statusCode": "$status"},
}


def error_format(document: JSONObject) -> ErrorFormat:
    """The error envelope a plain document declares, else RFC 9457 problem details.

    The envelope is the JSON schema most of the document's `default` and 4xx responses share,
    when every property it requires is one `ERROR_FIELDS` knows how to fill (`message`,
    `code`, `status`, ...); errors then validate against the document's own responses.
    """
    counts: dict[str, tuple[int, str, Any]] = {}
    for _, _, raw in operations(document):
        for code, response in (raw.get("responses") or {}).items():
            if code != "default" and not str(code).startswith("4"):
                continue
            for media_type, media in (follow_refs(document, response).get("content") or {}).items():
                schema = media.get("schema")
                if "json" in media_type and isinstance(schema, dict):
                    key = repr(schema)
                    seen = counts.get(key, (0, media_type, schema))
                    counts[key] = (seen[0] + 1, media_type, schema)
    for _, media_type, schema in sorted(counts.values(), key=lambda c: -c[0]):
        body = _error_body(document, follow_refs(document, schema))
        if body is not None:
            return ErrorFormat(media_type=media_type, body=compile_value(body), codes={})
    problem = compile_value(PROBLEM_BODY)
    return ErrorFormat(media_type="application/problem+json", body=problem, codes={})


def _error_body(document: JSONObject, schema: Any) -> JSONObject | None:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if schema.get("type", "object") != "object" or not properties:
        return None
    body: JSONObject = {}
    for name, prop in properties.items():
        kind = follow_refs(document, prop).get("type", "string")
        value = ERROR_FIELDS.get(kind, {}).get(name)
        if value is not None:
            body[name] = value
    required = schema.get("required", [])
    if not body or any(name not in body for name in required):
        return None
    return body


def stateless_spec(name: str, document: JSONObject, source_version: str = "3.0") -> ApiSpec:
    """The `ApiSpec` of a plain document: routes and schemas only, errors as the document's."""
    return ApiSpec(
        name=name,
        title=str(document.get("info", {}).get("title", name)),
        document=document,
        base_path=base_path(document),
        resources={},
        operations={},
        errors=error_format(document),
        stateful=False,
        source_version=source_version,
    )
