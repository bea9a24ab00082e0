"""Security and request validation of a compiled operation, with their per-request set-up done
once.

connexion's `SecurityOperation` builds a request object to read the credential, and its
`RequestValidationOperation` builds, on every request, a URI parser, a parameter validator, the
operation's accepted media types and a body validator. The classes here are those two, with

- the credential of the operation's first security requirement read straight from the ASGI
  headers when it is a bearer token or an API key header, and resolved by the function the
  app's security handler holds for that scheme (`mockserver.auth`). Only a credential that
  resolves to a caller is decided here; anything else (none, another scheme, a refused key, a
  header connexion would read differently) goes to connexion's own check, which answers it as
  it always has;
- the parameter validator built once, reading the parameters through `ScopeParameters`
  instead of a request object, and the media type check and body validator done once per
  `Content-Type` value an operation accepts (they depend on nothing else), so a 400 or 415 is
  still connexion's own, worded as before.
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.middleware.request_validation import RequestValidationOperation
from connexion.middleware.security import SecurityOperation
from connexion.operations import AbstractOperation
from connexion.security import NO_VALUE, SecurityHandlerFactory
from connexion.utils import is_nullable
from starlette.datastructures import QueryParams
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.validation import PARSED_PARAMETERS

logger = logging.getLogger("connexion.middleware.validation")

TokenInfo = dict[str, Any]
Credential = Callable[[Scope], Awaitable[TokenInfo | None]]

_CACHE_LIMIT = 64  # Content-Type values remembered per operation (the header is the client's)


def _header(scope: Scope, name: bytes) -> str | None:
    """The first header field of that (lower-case) name, as Starlette's `Headers.get` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def _content_type(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The first `Content-Type` field, matched as connexion's `extract_content_type` does
    (the name in any case)."""
    for key, value in headers:
        if key.lower() == b"content-type":
            return value
    return None


def _credential(
    factory: SecurityHandlerFactory, scheme: dict[str, Any], required_scopes: Any
) -> Credential | None:
    """How to read and resolve one scheme's credential without a request object, for a bearer
    token (RFC 6750) or an API key in a header; None for any other scheme, or a handler whose
    function takes more than the credential."""
    kind = scheme.get("type")
    if kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        handler = factory.security_handlers.get("bearer")
    elif (
        kind == "apiKey"
        and scheme.get("in") == "header"
        and scheme.get("x-authentication-scheme", "").lower() != "bearer"
    ):
        handler = factory.security_handlers.get("apiKey")
    else:
        return None
    if handler is None:
        return None
    instance = handler()
    if factory.parse_security_scheme(scheme, required_scopes) is None:
        return None
    info = instance._resolve_func(scheme)
    if not info or any(
        instance._accepts_kwarg(info, keyword)
        for keyword in (instance.required_scopes_kw, instance.request_kw)
    ):
        return None
    if kind == "apiKey":
        name = str(scheme["name"]).lower().encode("latin-1")

        def read(scope: Scope) -> str | None:
            return _header(scope, name)

    else:

        def read(scope: Scope) -> str | None:
            # connexion's `get_auth_header_value`: the type, whitespace, the token.
            authorization = _header(scope, b"authorization")
            if not authorization:
                return None
            parts = authorization.split(maxsplit=1)
            if len(parts) != 2 or parts[0].lower() != "bearer":
                return None
            return parts[1]

    async def resolve(scope: Scope) -> TokenInfo | None:
        given = read(scope)
        if given is None:
            return None
        token_info = info(given)
        if isinstance(token_info, dict):  # the usual answer, told apart cheaply
            return token_info
        while asyncio.iscoroutine(token_info):
            token_info = await token_info
        if token_info is None or token_info is NO_VALUE:
            return None
        return token_info  # type: ignore[no-any-return]

    return resolve


class FastSecurityOperation(SecurityOperation):
    """connexion's security check, deciding a request whose first security requirement is one
    bearer token or API key header that resolves without building a request object; any other
    request through connexion's check."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast: Credential | None = None
        first = self.security[0] if self.security else None
        if first and len(first) == 1:
            ((name, scopes),) = first.items()
            scheme = self.security_schemes.get(name)
            if isinstance(scheme, dict):
                self.fast = _credential(self.security_handler_factory, scheme, scopes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token_info = None if self.fast is None else await self.fast(scope)
        if token_info is None:
            await super().__call__(scope, receive, send)
            return
        # As connexion's `verify_security` leaves it for the handler.
        context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
        context.update(
            {"user": token_info.get("sub", token_info.get("uid")), "token_info": token_info}
        )
        await self.next_app(scope, receive, send)


class ScopeParameters(HTTPConnection):
    """A request's path, query, header and cookie parameters as connexion's parameter validator
    and `get_arguments` read them from its `ConnexionRequest` (the URI parser's resolution of
    Starlette's path and query parameters, Starlette's headers and cookies), without the
    request object around them."""

    def __init__(self, scope: Scope, uri_parser: Any):
        super().__init__(scope)
        self.uri_parser = uri_parser

    @functools.cached_property
    def path_params(self) -> dict[str, Any]:
        resolved: dict[str, Any] = self.uri_parser.resolve_path(self.scope.get("path_params", {}))
        return resolved

    @functools.cached_property
    def query_params(self) -> dict[str, Any]:  # type: ignore[override]
        args = QueryParams(self.scope["query_string"])
        resolved: dict[str, Any] = self.uri_parser.resolve_query({k: args.getlist(k) for k in args})
        return resolved


_UNKNOWN = object()


class FastValidationOperation(RequestValidationOperation):
    """connexion's request validation, with the parameter validator built once and the media
    type check and body validator once per `Content-Type` value."""

    def __init__(
        self,
        next_app: ASGIApp,
        *,
        operation: AbstractOperation,
        strict_validation: bool = False,
        validator_map: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            next_app,
            operation=operation,
            strict_validation=strict_validation,
            validator_map=validator_map,
        )
        self.parameter_validator = self._validator_map["parameter"](
            operation.parameters,
            uri_parser=operation._uri_parser_class(
                operation.parameters, operation.body_definition()
            ),
            strict_validation=strict_validation,
            security_query_params=self.security_query_params,
        )
        self.bodies: dict[bytes | None, Any] = {}

    def body_validator(self, headers: list[tuple[bytes, bytes]]) -> Any:
        """connexion's body validator for the request's `Content-Type` (None: the body is not
        validated). Raises connexion's `UnsupportedMediaTypeProblem` for a type the operation
        does not accept."""
        mime_type, encoding = self.extract_content_type(headers)
        self.validate_mime_type(mime_type)
        operation = self._operation
        schema = operation.body_schema(mime_type)
        if not schema:
            return None
        try:
            validator_cls = self._validator_map["body"][mime_type]
        except KeyError:
            logger.info(
                f"Skipping validation. No validator registered for content type: {mime_type}."
            )
            return None
        return validator_cls(
            schema=schema,
            required=operation.request_body.get("required", False),
            nullable=is_nullable(operation.body_definition(mime_type)),
            encoding=encoding,
            strict_validation=self.strict_validation,
            uri_parser=operation.uri_parser_class(
                operation.parameters, operation.body_definition()
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        validator = self.parameter_validator
        parameters = ScopeParameters(scope, validator.uri_parser)
        validator.validate_request(parameters)
        scope[PARSED_PARAMETERS] = parameters  # for the handler's arguments
        headers = scope["headers"]
        key = _content_type(headers)
        body = self.bodies.get(key, _UNKNOWN)
        if body is _UNKNOWN:
            body = self.body_validator(headers)
            if len(self.bodies) >= _CACHE_LIMIT:
                self.bodies.clear()
            self.bodies[key] = body
        if body is not None:
            receive, scope = await body.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)
