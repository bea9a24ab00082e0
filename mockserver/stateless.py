"""Serving a plain document (no `x-` behaviour) the way Prism does, statelessly.

connexion still reads the document: routing, request validation, security and Swagger UI are
its own. Each operation answers with one of its declared responses:

- the status: `Prefer: code=` (a declared code, or any code when `default` is declared), else
  the lowest declared 2xx, else `default` as 200, else the lowest declared code;
- the media type: the declared one `Accept` weighs highest (RFC 9110 section 12.5.1, `q`
  weights, shared with the stateful path), JSON first on a tie;
- the body: `Prefer: example=` names an example; else the media type's `example`, its first
  `examples` entry, the schema's `example`; else data generated from the schema
  (`mockserver.generate`), the same for the same request, fresh with `Prefer: dynamic=true`.

Security: a request must carry the credentials one of the operation's security requirements
names (a bearer token, Basic credentials, the API key in its header, query or cookie); any value
is accepted, as the document says nothing about which are valid.

Errors (an invalid request, missing credentials): answered with a response the operation
declares where it declares one (`declared_response`): the error's own status, for an invalid
request a declared 422 (Prism's choice), the status's range (`4XX`) or `default`. The body is
the document's error envelope when the declared schema allows it, else the declared example,
else data generated from the schema. An operation that declares none of them gets the error
with its own status: OpenAPI 3.0.3 (Responses Object) does not ask a document to list every
error, and Prism answers such requests with undeclared statuses too.
"""

import copy
import hashlib
import random
from collections.abc import Callable, Mapping
from typing import Any

from connexion.context import _scope
from connexion.json_schema import Draft4ResponseValidator
from connexion.lifecycle import ConnexionResponse
from connexion.resolver import Resolution, Resolver
from connexion.security import (
    ApiKeySecurityHandler,
    BasicSecurityHandler,
    BearerSecurityHandler,
    OAuthSecurityHandler,
)
from jsonschema import Draft4Validator
from starlette.datastructures import Headers

from kycspec.model import ApiSpec, ErrorFormat
from kycspec.stateless import operations
from kycspec.types import JSONObject
from mockserver import errors
from mockserver.encoding import dump_json
from mockserver.generate import Generator
from mockserver.head import parse_preferences, preferred
from mockserver.routes import path_pattern

NO_RESPONSES = "The operation declares no responses."
JSON_LIKE = ("application/json", "+json")
# An invalid request is a 400 (RFC 9110 section 15.5.1); an operation declaring no 400 but a
# 422 gets its 422, the status Prism prefers for a request that fails validation.
DECLARED_INSTEAD = {400: ("422",)}


def _accept_any(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"sub": "mock"}


class _AnyBearer(BearerSecurityHandler):
    def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
        return _accept_any


class _AnyBasic(BasicSecurityHandler):
    def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
        return _accept_any


class _AnyApiKey(ApiKeySecurityHandler):
    def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
        return _accept_any


class _AnyOAuth(OAuthSecurityHandler):
    def get_tokeninfo_func(self, security_definition: dict[str, Any]) -> Callable[..., Any]:
        return _accept_any

    @classmethod
    def get_scope_validate_func(cls, security_definition: dict[str, Any]) -> Callable[..., Any]:
        return lambda required_scopes, token_scopes: True


# connexion's security_map: any credential of the declared kind opens the operation.
SECURITY_MAP: dict[str, type] = {
    "bearer": _AnyBearer,
    "basic": _AnyBasic,
    "apiKey": _AnyApiKey,
    "oauth2": _AnyOAuth,
    "openIdConnect": _AnyBearer,
}


class Responder:
    """The responses of one operation of a plain document."""

    def __init__(self, spec: ApiSpec, operation: JSONObject, seed: int):
        self.spec = spec
        self.responses: dict[str, Any] = {
            str(code): self._resolved(response)
            for code, response in operation.get("responses", {}).items()
        }
        self.seed = seed

    def _resolved(self, node: Any) -> Any:
        return Generator(self.spec.document, random.Random(0)).resolve(node)

    def status(self, prefer: dict[str, str]) -> tuple[int, Any]:
        """The status to answer with and its response object."""
        declared = self.responses
        code = prefer.get("code")
        if code is not None:
            if code in declared:
                return int(code), declared[code]
            if "default" in declared and code.isdigit() and 100 <= int(code) <= 599:
                return int(code), declared["default"]
            raise errors.InvalidRequest(
                errors.PREFER_UNKNOWN_CODE.format(code=code, declared=", ".join(sorted(declared)))
            )
        numbered = sorted(c for c in declared if c.isdigit())
        success = [c for c in numbered if c.startswith("2")]
        if success:
            return int(success[0]), declared[success[0]]
        if "default" in declared:
            return 200, declared["default"]
        if numbered:
            return int(numbered[0]), declared[numbered[0]]
        raise errors.InternalError(NO_RESPONSES)

    def error(
        self, error: errors.MockError, envelope_format: ErrorFormat, accept: str | None
    ) -> ConnexionResponse | None:
        """The declared response answering `error`; None when the operation declares no
        response for it. The document's error envelope names the status sent (a 400 answered
        with the declared 422 says 422 inside too)."""
        found = declared_response(self.responses, error.status_code)
        if found is None:
            return None
        status, response = found
        sent = copy.copy(error)
        sent.status_code = status
        envelope = sent.body(envelope_format)
        content: dict[str, Any] = response.get("content") or {}
        if not content:
            return ConnexionResponse(status_code=status, body=b"")
        media_type = _negotiated(list(content), accept)
        media = self._resolved(content[media_type]) or {}
        body = envelope if self._allows(media.get("schema"), envelope) else _NOTHING
        if body is _NOTHING:
            body = self._example(media, None)
        if body is _NOTHING:
            rng = random.Random(status)
            body = Generator(self.spec.document, rng).value(media.get("schema"))
        return _encoded(status, media_type, body)

    def _allows(self, schema: Any, body: Any) -> bool:
        if schema is None:
            return True
        components = self.spec.document.get("components", {})
        resolved = {**self._resolved(schema), "components": components}
        checker = Draft4ResponseValidator(resolved, format_checker=Draft4Validator.FORMAT_CHECKER)
        return bool(checker.is_valid(body))

    def respond(self, headers: Headers, request_key: str) -> ConnexionResponse:
        prefer = parse_preferences(headers.get("prefer") or "")
        status, response = self.status(prefer)
        content: dict[str, Any] = response.get("content") or {}
        if not content:
            return ConnexionResponse(status_code=status, body=b"")
        media_type = _negotiated(list(content), headers.get("accept"))
        media = self._resolved(content[media_type]) or {}
        dynamic = prefer.get("dynamic", "").lower() == "true"
        name = prefer.get("example")
        body = self._example(media, name) if not dynamic or name else _NOTHING
        if body is _NOTHING:
            digest = hashlib.sha256(f"{self.seed}|{request_key}".encode()).digest()
            seed = random.SystemRandom().getrandbits(64) if dynamic else digest
            rng = random.Random(seed)
            body = Generator(self.spec.document, rng, dynamic=dynamic).value(media.get("schema"))
        return _encoded(status, media_type, body)

    def _example(self, media: JSONObject, name: str | None) -> Any:
        examples = {
            key: self._resolved(example).get("value")
            for key, example in (media.get("examples") or {}).items()
        }
        if name is not None:
            if name not in examples:
                known = ", ".join(examples) or "none"
                raise errors.InvalidRequest(
                    errors.PREFER_UNKNOWN_EXAMPLE.format(name=name, known=known)
                )
            return examples[name]
        if "example" in media:
            return media["example"]
        if examples:
            return next(iter(examples.values()))
        schema = self._resolved(media.get("schema"))
        if isinstance(schema, dict) and "example" in schema:
            return schema["example"]
        return _NOTHING


_NOTHING = object()


def declared_response(responses: Mapping[str, Any], status: int) -> tuple[int, Any] | None:
    """The status and declared response (a Responses Object entry) answering an error.

    In order: the status itself, its `DECLARED_INSTEAD` alternative, its range (`4XX`,
    OpenAPI 3.0.3), `default`; None when the operation declares none of them.
    """
    code = str(status)
    if code in responses:
        return status, responses[code]
    for key in DECLARED_INSTEAD.get(status, ()):
        if key in responses:
            return int(key), responses[key]
    for key in (f"{code[0]}XX", f"{code[0]}xx", "default"):
        if key in responses:
            return status, responses[key]
    return None


class DeclaredErrors:
    """The errors of a plain document's operations, answered as each operation declares."""

    def __init__(self, spec: ApiSpec, base_path: str):
        self.routes = [
            (path_pattern(base_path, path), method.upper(), Responder(spec, raw, 0))
            for path, method, raw in operations(spec.document)
        ]
        self.envelope = spec.errors

    def answer(
        self, method: str, path: str, error: errors.MockError, accept: str | None
    ) -> ConnexionResponse | None:
        """The declared answer to `error` for the request, or None (the error as it is)."""
        if not 400 <= error.status_code < 500:
            return None
        for pattern, declared_method, responder in self.routes:
            if declared_method == method.upper() and pattern.match(path):
                return responder.error(error, self.envelope, accept)
        return None


def _negotiated(media_types: list[str], accept: str | None) -> str:
    """The declared media type `Accept` weighs highest, as the stateful path chooses
    (`mockserver.head.preferred`, RFC 9110 section 12.5.1: `q` weights, the most specific
    range, `q=0` excludes), JSON first on a tie; the first of those when it allows none (a
    plain document's answer is never a 406)."""
    ordered = sorted(media_types, key=lambda m: not any(j in m for j in JSON_LIKE))
    return preferred(accept, ordered) or ordered[0]


def _encoded(status: int, media_type: str, body: Any) -> ConnexionResponse:
    if any(j in media_type for j in JSON_LIKE) or not isinstance(body, str | bytes):
        data = dump_json(body)
    else:
        data = body.encode() if isinstance(body, str) else body
    return ConnexionResponse(status_code=status, body=data, content_type=media_type)


class StatelessResolver(Resolver):
    """Resolves every operation of a plain document to its `Responder`."""

    def __init__(self, spec: ApiSpec, seed: int = 0):
        super().__init__()
        self.spec = spec
        self.seed = seed

    def resolve(self, operation: Any) -> Resolution:
        method = operation.method.lower()
        raw = self.spec.document["paths"][operation.path][method]
        responder = Responder(self.spec, raw, self.seed)

        async def handle(**kwargs: Any) -> ConnexionResponse:
            scope = _scope.get()
            query = scope.get("query_string", b"").decode("latin-1")
            key = f"{scope['method']} {scope['path']}?{query}"
            return responder.respond(Headers(scope=scope), key)

        return Resolution(handle, operation.operation_id or f"{method} {operation.path}")
