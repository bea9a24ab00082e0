"""The fast path: one compiled ASGI callable per operation, in place of connexion's per-request
routing.

connexion's default middleware list routes every request again in each of its routed
middlewares (routing, security, request validation, response validation, context, then the
app's own router). `CompiledMiddleware` takes their place in the `middlewares=` list: at
start-up it reads connexion's resolved operations, as the others do, and builds for each one

- a route (the operation's path template, `mockserver.routes`), kept in a table by method,
  in the order connexion's routing tries them (concrete paths first);
- the operation's chain, built once from connexion's own per-operation classes: the security
  check and request validation (`SecurityOperation` and `RequestValidationOperation`, their
  per-request set-up done once and a resolving credential read directly,
  `mockserver.fastcheck`; the validators of `mockserver.validation`, compiled once per schema),
  response validation when it is on, the request context, and the operation's
  handler: called directly with the arguments connexion would give it when the resolver offers
  that (`DirectOperation`), else through connexion's decorators
  (`mockserver.stack.CachedAsyncOperation`, decorated once).

A request whose method and path match an operation runs that chain directly. Anything else
(an unknown path, a method the path does not declare, the docs) goes on to the reference chain
behind it, connexion's own, which answers it as it always has. Errors propagate to the same
exception middleware and handlers in either case, so an answer does not depend on the path
taken (`tests/mockserver/test_equivalence.py` replays the test corpus through both).
"""

import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.decorators.parameter import get_arguments, pythonic, sanitized
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import ConnexionResponse
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.middleware.context import ContextMiddleware, ContextOperation
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import (
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.middleware.security import SecurityMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.operations import AbstractOperation
from connexion.security import SecurityHandlerFactory
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.fastcheck import FastSecurityOperation, FastValidationOperation
from mockserver.routes import TemplateRoutingMiddleware, route_template, routing_order
from mockserver.stack import (
    CachedAsyncOperation,
    Framework,
    PrefixSwaggerUIMiddleware,
    has_body,
)
from mockserver.validation import PARSED_PARAMETERS

NO_CONTENT_TYPE = "application/octet-stream"
"""The media type connexion's request reads when a request has no `Content-Type`."""

DirectHandler = Callable[[dict[str, Any], Scope], Awaitable[ConnexionResponse]]
"""An operation's handler taking the keyword arguments connexion would pass it and the ASGI
scope (`mockserver.api.EngineResolver.direct`)."""


class DirectOperation:
    """The last link of a compiled chain when the resolver offers the handler directly: the
    handler's arguments from connexion's own `get_arguments`, as its parameter decorator
    builds them, the handler called, and its response encoded by connexion's framework."""

    def __init__(self, operation: AbstractOperation, handler: DirectHandler, pythonic_params: bool):
        self.operation = operation
        self.handler = handler
        # connexion's name rule (three regular expressions per name), remembered per name.
        self.sanitize = functools.lru_cache(maxsize=256)(pythonic if pythonic_params else sanitized)
        self.uri_parser = operation.uri_parser_class(
            operation.parameters, operation.body_definition()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body: Any = None
        files: dict[str, Any] = {}
        parameters = scope.get(PARSED_PARAMETERS)
        if has_body(scope) or parameters is None:
            request = Framework.get_request(
                scope=scope, receive=receive, uri_parser=self.uri_parser
            )
            if parameters is None:
                parameters = request
            if has_body(scope):
                body = await request.get_body()
                files = await request.files()
            mimetype = request.mimetype
        else:
            # No body, so no Content-Type either (`has_body`): connexion's request would
            # read the default type.
            mimetype = NO_CONTENT_TYPE
        arguments = get_arguments(
            self.operation,
            path_params=parameters.path_params,
            query_params=parameters.query_params,
            body=body,
            files=files,
            arguments=[],
            has_kwargs=True,
            sanitize=self.sanitize,
            content_type=mimetype,
        )
        kwargs = {self.sanitize(key): value for key, value in arguments.items()}
        # The security check's `user` and `token_info`, where connexion's request keeps them.
        kwargs.update(scope.setdefault("extensions", {}).setdefault("connexion_context", {}))
        response = await self.handler(kwargs, scope)
        await Framework.connexion_to_framework_response(response)(scope, receive, send)


class CompiledOperation:
    """One operation: its route, its path template in the document, and its chain, built once."""

    def __init__(self, route: Route, chain: ASGIApp, template: str):
        self.route = route
        self.chain = chain
        self.template = template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.chain(scope, receive, send)


class CompiledAPI(RoutedAPI[CompiledOperation]):
    """The compiled operations of one API, from the same options connexion's middlewares get."""

    def __init__(
        self,
        *args: Any,
        security_map: dict[str, Any] | None = None,
        strict_validation: bool = False,
        validator_map: dict[str, Any] | None = None,
        validate_responses: bool = False,
        pythonic_params: bool = False,
        jsonifier: Jsonifier | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.security_handler_factory = SecurityHandlerFactory(security_map)
        self.strict_validation = strict_validation
        self.validator_map = validator_map
        self.validate_responses = validate_responses
        self.pythonic_params = pythonic_params
        self.jsonifier = jsonifier or Jsonifier()
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> CompiledOperation:
        direct = getattr(self.resolver, "direct", {}).get(operation.operation_id)
        chain: ASGIApp
        if direct is not None:
            chain = DirectOperation(operation, direct, self.pythonic_params)
        else:
            chain = CachedAsyncOperation.from_operation(
                operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
            )
            chain = ContextOperation(chain, operation=operation)
        if self.validate_responses:
            chain = ResponseValidationOperation(
                chain, operation=operation, validator_map=self.validator_map
            )
        chain = FastValidationOperation(
            chain,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )
        chain = FastSecurityOperation.from_operation(
            operation, next_app=chain, security_handler_factory=self.security_handler_factory
        )
        path = route_template(operation)
        route = Route(self.base_path + path, endpoint=chain, methods=[operation.method])
        return CompiledOperation(route, chain, operation.path)


class CompiledMiddleware(RoutedMiddleware[CompiledAPI]):
    """Routes a request once, by a table built at start-up, to its operation's chain; hands
    every other request to the next middleware."""

    api_cls = CompiledAPI

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.table: dict[str, list[CompiledOperation]] = defaultdict(list)

    def add_api(self, specification: Any, **kwargs: Any) -> CompiledAPI:
        api: CompiledAPI = super().add_api(specification, **kwargs)
        operations = list(api.operations.values())
        rank = {path: i for i, path in enumerate(routing_order(op.template for op in operations))}
        for operation in sorted(operations, key=lambda op: rank[op.template]):
            for method in operation.route.methods or ():
                self.table[method].append(operation)
        return api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # connexion mounts each API under its base path, and a mount's pattern does not match
        # across a line feed: a path with one is left to connexion's chain, as are websockets.
        if scope["type"] == "http" and "\n" not in scope["path"]:
            for operation in self.table.get(scope["method"], ()):
                match, child = operation.route.matches(scope)
                if match is Match.FULL:
                    # As connexion's routing middleware: a copy of the scope, with the path
                    # parameters as the route converted them.
                    path_params = {**scope.get("path_params", {}), **child["path_params"]}
                    extensions = dict(scope.get("extensions") or {})
                    await operation(
                        {**scope, "path_params": path_params, "extensions": extensions},
                        receive,
                        send,
                    )
                    return
        await self.app(scope, receive, send)


def middlewares(*, validate_responses: bool, slow_path: bool = False) -> list[Any]:
    """connexion's middleware list for the mock: the error handlers, the docs, the compiled
    operations (left out with `slow_path`) and, behind them, connexion's reference chain less
    what this mock never uses (`LifespanMiddleware`: the dispatcher in front answers lifespan
    itself; response validation when it is off)."""
    stack: list[Any] = [
        ServerErrorMiddleware,
        ExceptionMiddleware,
        PrefixSwaggerUIMiddleware,
        CompiledMiddleware,
        TemplateRoutingMiddleware,
        SecurityMiddleware,
        RequestValidationMiddleware,
        ResponseValidationMiddleware,
        ContextMiddleware,
    ]
    if slow_path:
        stack.remove(CompiledMiddleware)
    if not validate_responses:
        stack.remove(ResponseValidationMiddleware)
    return stack
