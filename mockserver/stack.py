"""connexion's app and middleware stack, with the work that is the same on every request done once.

Still connexion's own classes, subclassed where they rebuild something per request:

- `AsyncOperation.fn` builds the decorator chain (and inspects the handler's signature, and
  builds a URI parser) on every request; `CachedAsyncOperation` builds it once per operation.
- The parameter decorator reads the body even of a request that has none (every GET).
- The parameter decorator parses a JSON or urlencoded body again after the body validator has
  parsed it; the handler's request takes the validator's parse from the scope instead, and
  parses by the same rules (`mockserver.bodies`) when no validator ran.
- `SwaggerUIMiddleware` routes every request to see whether it is for `/ui` or the spec; it now
  hands anything outside those paths straight on, and renders the docs page from
  `templates/index.j2` (Swagger UI's own page, titled after the API).
"""

import functools
from importlib import resources
from typing import Any

import connexion
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from starlette.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send

from mockserver.bodies import load_json, parse_urlencoded
from mockserver.validation import PARSED_BODY

BODY_FIELDS = frozenset({"content-length", "transfer-encoding", "content-type"})
"""The header fields (lower case) without any of which a request has no body."""
_BODY_HEADERS = frozenset(name.encode("latin-1") for name in BODY_FIELDS)
DOCS_TEMPLATES = resources.files("mockserver") / "templates"


def has_body(scope: Scope) -> bool:
    """Whether the request may have a body: without any of `BODY_FIELDS` it has none, which
    connexion reads as None."""
    return any(name.lower() in _BODY_HEADERS for name, _ in scope["headers"])


class _ParameterDecorator(AsyncParameterDecorator):
    def _maybe_get_body(self, request: Any, **kwargs: Any) -> Any:
        if not has_body(request.scope):
            return None
        return super()._maybe_get_body(request, **kwargs)


class ParsedBodyRequest(ConnexionRequest):
    """connexion's request, taking a JSON or urlencoded body from the validator's parse."""

    async def json(self) -> Any:
        if PARSED_BODY in self.scope:
            return self.scope[PARSED_BODY]
        return load_json(await self.body())

    async def _split_form_files(self) -> None:
        if self.mimetype != "application/x-www-form-urlencoded":
            await super()._split_form_files()
            return
        self._files: dict[str, list[Any]] = {}  # a urlencoded body carries no uploads
        if PARSED_BODY in self.scope:
            self._form = self.scope[PARSED_BODY]
        else:
            self._form = self.uri_parser.resolve_form(parse_urlencoded(await self.body()))


class Framework(StarletteFramework):
    @staticmethod
    def get_request(
        *, scope: Scope, receive: Receive, uri_parser: Any, **kwargs: Any
    ) -> ConnexionRequest:
        return ParsedBodyRequest(scope, receive, uri_parser=uri_parser)


class CachedStarletteDecorator(StarletteDecorator):
    """connexion's decorator chain, built once for the operation instead of per request."""

    framework = Framework

    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return _ParameterDecorator

    def __call__(self, function: Any) -> Any:
        decorated = self.decorate(function)
        uri_parsers: list[Any] = []

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not uri_parsers:  # the operation is known from the first request on
                uri_parsers.append(self.uri_parser)
            request = self.framework.get_request(
                uri_parser=uri_parsers[0], scope=scope, receive=receive
            )
            return await decorated(request)

        return wrapper


class CachedAsyncOperation(AsyncOperation):
    """An operation whose handler chain is decorated once."""

    @functools.cached_property
    def fn(self) -> Any:
        decorator = CachedStarletteDecorator(
            pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        return decorator(self._fn)


class CachedAsyncApi(AsyncApi):
    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        return CachedAsyncOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class _TitledSwaggerUIAPI(SwaggerUIAPI):
    """connexion's docs routes, rendering the page from this package's template."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._templates = Jinja2Templates(directory=str(DOCS_TEMPLATES))


class PrefixSwaggerUIMiddleware(SwaggerUIMiddleware):
    """The docs middleware, consulted only for paths under its own routes."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.prefixes: tuple[str, ...] = ()

    def add_api(
        self,
        specification: Any,
        base_path: str | None = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # As SwaggerUIMiddleware.add_api, with the titled page.
        api = _TitledSwaggerUIAPI(
            specification,
            base_path=base_path,
            arguments=arguments,
            default=self.default_fn,
            **kwargs,
        )
        self.router.mount(api.base_path, app=api.router)
        mount = self.router.routes[-1]
        self.prefixes += tuple(mount.path + route.path for route in mount.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class CachedAsyncApp(connexion.AsyncApp):
    """`connexion.AsyncApp` whose operations decorate their handler once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._middleware_app.api_cls = CachedAsyncApi
