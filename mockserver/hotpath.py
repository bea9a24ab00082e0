"""The hot path: one compiled callable per operation, answering a request that takes the happy
path with no middleware around it, and handing any other request on untouched.

`HotPathMiddleware` is the first entry of the app's connexion `middlewares=` list. At start-up
it reads connexion's resolved operations, as every routed middleware does, and compiles for
each operation whose handler the resolver offers directly (`mockserver.api.EngineResolver`)

- its route: the operation's path template (`mockserver.routes`), in a table by method in the
  order connexion's routing tries them (concrete paths first), so the first route a path
  matches is the operation connexion would route it to (`HEAD` routes to the GET operation,
  as in connexion's routing);
- its credential: the bearer token or API key header of its first security requirement, read
  from the request head and resolved by the function the app's security handler holds
  (`mockserver.fastcheck`);
- its parameters: each path and query parameter's coercion (connexion's rules: `int`,
  `float`, connexion's `boolean`, a string as sent) and its schema's validator, compiled once;
  the query defaults connexion's `get_arguments` fills in; the handler's keyword arguments in
  the order connexion builds them;
- its request body, if it takes one, in JSON and urlencoded form: the validators the chain's
  request validation uses for those types (`mockserver.validation`), compiled once.

A request is answered here only when every step takes the happy path: a route of a compiled
operation, every parameter present as required, sent once, declared (strict validation),
coerced and valid, a credential that resolves, no body for an operation that takes none, or a
JSON or urlencoded body (that `Content-Type`, a `Content-Length`) that parses and is valid,
and a handler that answers without raising. Anything else (an unknown route, an operation not
compiled, a missing or refused credential, a parameter or body connexion would refuse, another
media type, an error the handler raises) is declined, and the request goes on to the chain
behind, connexion's error handlers, compiled operations (`mockserver.compiled`) and reference
chain, whose answer is the reference, with the body read here replayed to it. Nothing is
written before the decline: the engine commits a request's writes only once its answer is
built (`mockserver.engine.Engine.handle`), so a handler that raises has changed nothing but its
due clock transitions, which the chain's second run finds done; the request log is the edge's,
written once either way.

The answer is the handler's response encoded as Starlette encodes it (the same header lines,
in the same order) and written with one `send` of the start and one of the body.
`HotLane.respond` is the same entry for the API's edge (`mockserver.edge`), which calls it
before any wrapper of its own and adds the `Vary` line the app's CORS middleware adds to a
request without `Origin`. `tests/mockserver/test_equivalence.py` replays the test corpus
through both paths; `tests/mockserver/test_fast_checks.py` sends every declining branch.
"""

import functools
from collections import defaultdict
from collections.abc import Callable
from copy import deepcopy
from typing import Any
from urllib.parse import parse_qsl

from connexion.decorators.parameter import _get_typed_body_values, sanitized
from connexion.exceptions import ProblemException
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from connexion.security import SecurityHandlerFactory
from connexion.utils import boolean, is_null, is_nullable
from jsonschema import Draft4Validator, ValidationError
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.compiled import DirectHandler
from mockserver.fastcheck import Credential, FastSecurityOperation, FastValidationOperation
from mockserver.head import HEAD, RequestHead
from mockserver.routes import route_template, routing_order
from mockserver.stack import BODY_FIELDS, Framework
from mockserver.validation import (
    CachedFormValidator,
    CachedJSONBodyValidator,
    CompiledSchema,
    compiled,
)

_COERCE: dict[str, Callable[[str], Any] | None] = {
    "string": None,
    "integer": int,
    "number": float,
    "boolean": boolean,
}
"""connexion's coercion of a scalar parameter by its schema type (`connexion.utils.coerce_type`);
a string stays as sent."""

_MISSING = object()
_QUERY_CACHE_SIZE = 1024
"""Query strings whose arguments an operation keeps (the most recently used)."""
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_VARY = b"vary"
_VARY_ORIGIN = (_VARY, b"Origin")


class NotCompiled(Exception):
    """An operation the hot path leaves to the chain (why, for the start-up debug log)."""


class _Parameter:
    """One path or query parameter: its name, the keyword it is passed as, its coercion and
    its schema's validator."""

    __slots__ = ("coerce", "default", "keyword", "name", "required", "validator")

    def __init__(self, definition: dict[str, Any]):
        schema = definition.get("schema", definition)
        kind = schema.get("type") if isinstance(schema, dict) else None
        if kind not in _COERCE:
            raise NotCompiled(f"parameter {definition['name']!r} of type {kind!r}")
        if is_nullable(definition):
            raise NotCompiled(f"nullable parameter {definition['name']!r}")
        self.name: str = definition["name"]
        self.keyword: str = sanitized(self.name)
        self.required = bool(definition.get("required"))
        self.coerce = _COERCE[kind]
        self.validator: CompiledSchema = compiled(schema, Draft4Validator)
        # connexion's query default (`_get_query_defaults`), cast as `get_arguments` casts it.
        default = definition.get("default", schema.get("default", _MISSING))
        try:
            if default is not _MISSING:
                default = str(default) if self.coerce is None else self.coerce(default)
        except (ValueError, TypeError) as exc:
            raise NotCompiled(f"default of {self.name!r}") from exc
        self.default = default

    def value(self, given: str) -> Any:
        """The coerced, valid value; raises `ValueError` or `ValidationError` where connexion
        would refuse it."""
        value = given if self.coerce is None else self.coerce(given)
        self.validator.validate(value)
        return value


class _Body:
    """An operation's request body in one media type (JSON or urlencoded form): read, parsed and
    validated by the operation's own body validator for that type
    (`mockserver.validation.CachedJSONBodyValidator`, `CachedFormValidator`), and passed to the
    handler as connexion's `get_arguments` passes it: a JSON body as parsed (its schema's
    default for none), a form's fields over the schema's default, each typed by its property's
    schema (`_get_body_argument_form`, with what it reads of the operation read once)."""

    def __init__(
        self,
        operation: AbstractOperation,
        media_type: str,
        validator: CachedJSONBodyValidator | CachedFormValidator,
    ):
        self.media_type = media_type
        self.validator = validator
        self.keyword = sanitized(operation.body_name(media_type))
        schema = operation.body_schema(media_type)
        self.nullable = is_nullable(schema)
        self.default = schema.get("default", {})
        if media_type == FORM and not isinstance(self.default, dict):
            raise NotCompiled("a form body whose default is not an object")
        self.properties = {k: {"schema": v} for k, v in schema.get("properties", {}).items()}
        # connexion reads `additionalProperties` from the first media type's schema.
        self.additional = operation.body_schema().get("additionalProperties", True)

    def argument(self, raw: bytes) -> Any:
        """The handler's body argument for a body of `raw` bytes (not empty); raises what the
        validator raises where connexion would refuse it."""
        if self.media_type == JSON:  # connexion's `_get_body_argument_json`
            body = self.validator.check(raw)
            if self.nullable and is_null(body):
                return None
            if body is None:
                return deepcopy(self.default)
            return body
        fields = deepcopy(self.default) if self.default else {}
        fields.update(self.validator.check(raw) or {})
        if not (self.properties or self.additional):
            return {}
        return _get_typed_body_values(fields, self.properties, self.additional)


class HotOperation:
    """One operation compiled: route, credential, parameters, body, handler."""

    def __init__(
        self,
        operation: AbstractOperation,
        route: Route,
        handler: DirectHandler,
        credential: Credential | None,
        bodies: dict[str, _Body],
    ):
        self.route = route
        self.handler = handler
        self.credential = credential
        self.bodies = bodies
        path: list[_Parameter] = []
        query: list[_Parameter] = []
        for definition in operation.parameters:
            where = definition.get("in")
            if where == "path":
                path.append(_Parameter(definition))
            elif where == "query":
                query.append(_Parameter(definition))
            else:
                raise NotCompiled(f"{where} parameter {definition.get('name')!r}")
        self.path = {parameter.name: parameter for parameter in path}
        if set(self.path) != set(route.param_convertors):
            raise NotCompiled("path parameters do not match the template")
        self.query = {parameter.name: parameter for parameter in query}
        self.required = tuple(p.name for p in query if p.required)
        self.defaults = {p.name: p.default for p in query if p.default is not _MISSING}
        # A function of the query string alone: each operation keeps its latest answers.
        self._kept_query_arguments: Callable[[bytes], tuple[tuple[str, Any], ...] | None] = (
            functools.lru_cache(maxsize=_QUERY_CACHE_SIZE)(self._query_arguments)
        )

    def arguments(self, path_params: dict[str, str], query_string: bytes) -> dict[str, Any] | None:
        """The handler's keyword arguments as connexion's `get_arguments` builds them after its
        validation passed, or None where connexion would refuse the request or this path does
        not decide it."""
        kwargs: dict[str, Any] = {}
        try:
            for name, given in path_params.items():
                parameter = self.path[name]
                kwargs[parameter.keyword] = parameter.value(given)
        except (ValueError, TypeError, ValidationError):
            return None
        query = self._kept_query_arguments(query_string)
        if query is None:
            return None
        kwargs.update(query)
        return kwargs

    def _query_arguments(self, query_string: bytes) -> tuple[tuple[str, Any], ...] | None:
        """The query's keyword arguments, in connexion's order (the defaults, then what was
        sent: `deep_merge`), or None where connexion would refuse the query. A function of the
        query string alone (every value a coerced scalar), so `arguments` keeps its answers."""
        if not query_string:
            if self.required:
                return None
            return tuple((self.query[name].keyword, value) for name, value in self.defaults.items())
        given_query: dict[str, Any] = {}
        try:
            for name, raw in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
                declared = self.query.get(name)
                if declared is None or name in given_query:
                    return None  # undeclared (strict validation) or repeated
                given_query[name] = declared.value(raw)
        except (ValueError, TypeError, ValidationError):
            return None
        for name in self.required:
            if name not in given_query:
                return None
        merged = {**self.defaults, **given_query} if self.defaults else given_query
        return tuple((self.query[name].keyword, value) for name, value in merged.items())


class HotAPI(RoutedAPI[HotOperation | None]):
    """The compiled operations of one API (None for one left to the chain)."""

    def __init__(
        self,
        *args: Any,
        security_map: dict[str, Any] | None = None,
        strict_validation: bool = False,
        validate_responses: bool = False,
        validator_map: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.security_handler_factory = SecurityHandlerFactory(security_map)
        self.validator_map = validator_map
        # Loose validation and response validation are the chain's alone.
        self.enabled = strict_validation and not validate_responses
        self.routes: list[tuple[str, Route, HotOperation | None]] = []
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> HotOperation | None:
        path = self.base_path + route_template(operation)
        route = Route(path, endpoint=_never, methods=[operation.method])
        self.routes.append((operation.path, route, None))
        handler = getattr(self.resolver, "direct", {}).get(operation.operation_id)
        if not self.enabled or handler is None:
            return None
        credential = None
        if operation.security:
            credential = FastSecurityOperation.from_operation(
                operation, next_app=_never, security_handler_factory=self.security_handler_factory
            ).fast
            if credential is None:
                return None
        try:
            hot = HotOperation(operation, route, handler, credential, self._bodies(operation))
        except NotCompiled:
            return None
        self.routes[-1] = (operation.path, route, hot)
        return hot

    def _bodies(self, operation: AbstractOperation) -> dict[str, _Body]:
        """The operation's JSON and urlencoded form bodies as its request validation reads them,
        by media type; empty for an operation without a body. Raises `NotCompiled` for a body
        taken in neither."""
        if not operation.is_request_body_defined:
            return {}
        validation = FastValidationOperation(
            _never, operation=operation, strict_validation=True, validator_map=self.validator_map
        )
        bodies = {}
        for media_type in (JSON, FORM):
            try:
                validator = validation.body_validator([(b"content-type", media_type.encode())])
            except ProblemException:
                continue  # not a type the operation takes
            if isinstance(validator, CachedJSONBodyValidator | CachedFormValidator):
                bodies[media_type] = _Body(operation, media_type, validator)
        if not bodies:
            raise NotCompiled("no JSON or form body")
        return bodies


async def _never(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("a hot route is matched, never called")  # pragma: no cover


class Answer:
    """A response ready to send: status, header lines, body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    async def send(self, send: Send) -> None:
        """Write it: one `send` of the start, one of the body."""
        start: Message = {"type": "http.response.start", "status": self.status}
        start["headers"] = self.headers
        await send(start)
        await send({"type": "http.response.body", "body": self.body})


class HotLane:
    """The route table of one app's compiled operations, and the entry that answers on it.

    Filled when connexion builds its middleware stack (on the app's first request); until then
    every request is declined."""

    def __init__(self) -> None:
        # method -> (path regex, convertors, operation or None), in routing order
        self.table: dict[str, list[tuple[Any, dict[str, Any], HotOperation | None]]] = {}

    def add(self, api: HotAPI) -> None:
        rank = {path: i for i, path in enumerate(routing_order(p for p, _, _ in api.routes))}
        table: dict[str, list[tuple[Any, dict[str, Any], HotOperation | None]]] = defaultdict(list)
        for _, route, hot in sorted(api.routes, key=lambda entry: rank[entry[0]]):
            for method in route.methods or ():
                table[method].append((route.path_regex, route.param_convertors, hot))
        self.table = dict(table)

    async def respond(
        self, scope: Scope, receive: Receive, *, vary: bool, limit: int | None = None
    ) -> tuple[Answer | None, Receive]:
        """The answer to the request if it takes the happy path (the handler has run), or None
        for any other request, having changed nothing; and the `receive` to hand the request on
        with (the body read here replayed first). A body over `limit` bytes is declined. With
        `vary`, the answer carries the `Vary` line the app's CORS middleware adds to a request
        without `Origin`."""
        routes = self.table.get(scope["method"])
        path = scope["path"]
        if routes is None or scope.get("root_path") or "\n" in path:
            return None, receive
        for regex, convertors, hot in routes:
            match = regex.match(path)
            if match is None:
                continue
            if hot is None:
                return None, receive
            return await self._run(hot, match.groupdict(), convertors, scope, receive, vary, limit)
        return None, receive

    async def _run(
        self,
        hot: HotOperation,
        matched: dict[str, str],
        convertors: dict[str, Any],
        scope: Scope,
        receive: Receive,
        vary: bool,
        limit: int | None,
    ) -> tuple[Answer | None, Receive]:
        head: RequestHead = scope[HEAD]
        body = None
        if not hot.bodies:
            if not BODY_FIELDS.isdisjoint(head.fields):
                return None, receive  # a body, even an empty one or a type alone
        else:
            body = hot.bodies.get(head.get("content-type") or "")
            if body is None or not _announced(head):
                return None, receive  # another media type, or no length: the chain's to decide
        path_params = {name: convertors[name].convert(value) for name, value in matched.items()}
        kwargs = hot.arguments(path_params, scope["query_string"])
        if kwargs is None:
            return None, receive
        token_info = None
        if hot.credential is not None:
            token_info = await hot.credential(scope)
            if token_info is None:
                return None, receive
        if body is not None:
            messages, raw = await _read(receive, limit)
            receive = _replay(messages, receive)
            if raw is None:
                return None, receive
            try:
                kwargs[body.keyword] = body.argument(raw)
            except Exception:
                return None, receive  # the chain's validator refuses it, as worded there
        if token_info is not None:
            kwargs["user"] = token_info.get("sub", token_info.get("uid"))
            kwargs["token_info"] = token_info
        try:
            response = await hot.handler(kwargs, scope)
        except Exception:
            # The chain answers it, as it answers every error; the engine commits nothing
            # for a request that fails (`mockserver.engine.Engine.handle`).
            return None, receive
        status: int = response.status_code
        body = response.body
        if isinstance(body, bytes):
            headers = _raw_headers(status, body, response.content_type, response.headers)
        else:
            encoded = Framework.connexion_to_framework_response(response)
            body, headers = encoded.body, encoded.raw_headers
        if vary:
            _add_vary(headers)
        return Answer(status, headers, body), receive


def _announced(head: RequestHead) -> bool:
    """Whether the request announces a body by a `Content-Length` of one octet or more, and
    is not chunked."""
    length = head.get("content-length")
    return (
        length is not None
        and length.isdigit()
        and int(length) > 0
        and head.get("transfer-encoding") is None
    )


async def _read(receive: Receive, limit: int | None) -> tuple[list[Message], bytes | None]:
    """The request's body messages, and the body (None: the client left, or it is over
    `limit` bytes)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if limit is not None and size > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive`, giving `messages` first."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _raw_headers(
    status: int, body: bytes, media_type: str | None, fields: dict[str, str] | None
) -> list[tuple[bytes, bytes]]:
    """The header lines Starlette's `Response.init_headers` writes for these fields, body and
    media type."""
    bodiless = status < 200 or status in (204, 304)
    if fields is not None and len(fields) == 1 and "Content-Type" in fields:
        # the usual JSON answer (`mockserver.api.json_response`): its type, then its length
        line = _line("Content-Type", fields["Content-Type"])
        return [line] if bodiless else [line, (b"content-length", b"%d" % len(body))]
    raw = [_line(k, v) for k, v in fields.items()] if fields else []
    keys = [key for key, _ in raw]
    if b"content-length" not in keys and not bodiless:
        raw.append((b"content-length", b"%d" % len(body)))
    if media_type is not None and b"content-type" not in keys:
        if media_type.startswith("text/") and "charset=" not in media_type.lower():
            media_type += "; charset=utf-8"
        raw.append(_line("content-type", media_type))
    return raw


@functools.lru_cache(maxsize=1024)
def _line(name: str, value: str) -> tuple[bytes, bytes]:
    """A header field as an ASGI header line (name in lower case, both ISO-8859-1 encoded);
    the lines most answers repeat (`Content-Type`) are encoded once."""
    return name.lower().encode("latin-1"), value.encode("latin-1")


def _add_vary(headers: list[tuple[bytes, bytes]]) -> None:
    """Starlette's CORS middleware on a response to a request without `Origin`: `Vary` gets
    `Origin` added to its values, in the place of its first line (RFC 9110 §12.5.5)."""
    found = [i for i, (key, _) in enumerate(headers) if key == _VARY]
    if not found:
        headers.append(_VARY_ORIGIN)
        return
    values = [headers[i][1].decode("latin-1") for i in found]
    for i in reversed(found[1:]):
        del headers[i]
    headers[found[0]] = (_VARY, ", ".join([*values, "Origin"]).encode("latin-1"))


class HotPathMiddleware(RoutedMiddleware[HotAPI]):
    """The first entry of the middleware list: answers on its `HotLane` what takes the happy
    path, and hands everything else to the chain behind it."""

    api_cls = HotAPI

    def __init__(self, app: ASGIApp, lane: HotLane | None = None) -> None:
        super().__init__(app)
        self.lane = lane or HotLane()

    def add_api(self, specification: Any, **kwargs: Any) -> HotAPI:
        api: HotAPI = super().add_api(specification, **kwargs)
        self.lane.add(api)
        return api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and DECLINED not in scope:
            answer, receive = await self.lane.respond(scope, receive, vary=False)
            if answer is not None:
                await answer.send(send)
                return
        await self.app(scope, receive, send)


DECLINED = "mockserver.hotpath.declined"
"""Set in the scope by the edge when the request passed its head rules as it is and the lane
declined it: the time it was asked (`time.perf_counter`)."""
