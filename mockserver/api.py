"""One vendor API as a connexion AsyncApp: routes, validation and security from its spec."""

import functools
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import connexion
from connexion.context import _scope
from connexion.exceptions import OAuthResponseProblem, ProblemException
from connexion.json_schema import Draft4ResponseValidator
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolution, Resolver
from jsonschema import ValidationError
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.types import Scope

from kycspec.expressions import Context
from kycspec.headers import header_fields, headers_for_status, shared_headers
from kycspec.keywords import keyword
from kycspec.loader import inline_refs
from kycspec.media import FileBody, is_json
from kycspec.model import ApiSpec, ErrorFormat, Operation
from kycspec.stateless import HTTP_METHODS
from kycspec.types import JSONObject
from mockserver import errors, stateless
from mockserver.auth import challenge, security_map, unauthorized_message
from mockserver.compiled import DirectHandler, middlewares
from mockserver.docs import DOCS_TITLE, served_document
from mockserver.encoding import dump_json
from mockserver.engine import Engine, MockRequest, MockResponse
from mockserver.files import chosen, file_content
from mockserver.head import acceptable, head_of
from mockserver.hotpath import HotLane, HotPathMiddleware
from mockserver.routes import path_pattern
from mockserver.sandbox import OPEN_CALLER, TokenPolicy
from mockserver.stack import CachedAsyncApp
from mockserver.store import StoreUnavailable
from mockserver.validation import CompiledSchema, SingleValueURIParser, compiled, validator_map

logger = logging.getLogger("mockserver")


def json_response(
    status: int, body: Any, media_type: str = "application/json"
) -> ConnexionResponse:
    """A response with a pre-serialized body and an explicit content type."""
    if body is None:
        return ConnexionResponse(status_code=status, body=b"")
    return ConnexionResponse(status_code=status, body=dump_json(body), content_type=media_type)


def success_examples(spec: ApiSpec, op: Operation) -> dict[str, Any]:
    """The named examples of the operation's success response, for `Prefer: example=`."""
    response = inline_refs(spec.document, op.raw["responses"][str(op.success_status)])
    found: dict[str, Any] = {}
    for media_type, media in response.get("content", {}).items():
        if not is_json(media_type):
            continue  # a file's examples are its body (mockserver.files), not JSON
        for name, example in media.get("examples", {}).items():
            found.setdefault(name, example.get("value"))
    return found


def negotiate(offered: list[str], accept: str | None) -> None:
    """Refuse (406, as Prism does) a request whose `Accept` allows none of the media types the
    success response is declared in (`mockserver.head.acceptable`, RFC 9110 §12.5.1)."""
    if offered and accept and not acceptable(accept, offered):
        raise errors.NotAcceptable(
            errors.NOT_ACCEPTABLE.format(available=", ".join(offered), accept=errors.shown(accept))
        )


def preferred_response(
    spec: ApiSpec, op: Operation, prefer: dict[str, str], examples: dict[str, Any]
) -> ConnexionResponse | None:
    """The response a `Prefer: code=` or `Prefer: example=` header asks for, if any; a forced
    error carries the headers the spec declares for it (`headers_for_status`)."""
    code = prefer.get("code")
    if code is not None and code != str(op.success_status):
        declared = {str(code) for code in op.raw["responses"]}
        if code not in declared:
            raise errors.InvalidRequest(
                errors.PREFER_UNKNOWN_CODE.format(code=code, declared=", ".join(sorted(declared)))
            )
        forced = errors.error_for(int(code), errors.PREFER_FORCED.format(code=code))
        response = json_response(int(code), forced.body(spec.errors), spec.errors.media_type)
        response.headers.update(forced.headers)
        declared_headers = headers_for_status(op.headers, int(code))
        response.headers.update(header_fields(declared_headers, Context(now=datetime.now(UTC))))
        return response
    name = prefer.get("example")
    if name is not None:
        if name not in examples:
            raise errors.InvalidRequest(
                errors.PREFER_UNKNOWN_EXAMPLE.format(name=name, known=", ".join(examples) or "none")
            )
        return json_response(op.success_status, examples[name])
    return None


class EngineResolver(Resolver):
    """Resolves every operation to the engine, instead of to a module function per operationId.

    connexion calls the handler with keyword arguments and the request in its context;
    `direct` holds, per operationId, the same handler taking the arguments and the ASGI scope,
    for the compiled operations (`mockserver.compiled`).
    """

    def __init__(self, spec: ApiSpec, engine: Engine, *, validate_responses: bool = False):
        super().__init__()
        self.spec = spec
        self.engine = engine
        self.validate_responses = validate_responses
        self.direct: dict[str, DirectHandler] = {}

    def resolve(self, operation: Any) -> Resolution:
        spec = self.spec
        op = spec.operations[operation.operation_id]
        engine = self.engine
        examples = success_examples(spec, op)
        offered = list(op.success_media_types)
        declared = parameter_names(op, "query")
        in_path = parameter_names(op, "path")
        takes_body = "requestBody" in op.raw
        validator = None
        if self.validate_responses and op.success_schema is not None:
            validator = compiled(op.success_schema, Draft4ResponseValidator)

        # Only a multipart body brings uploads (starlette's `UploadFile`) among the arguments.
        uploads = any(t.startswith("multipart/") for t in op.request_media_types)

        def plain(result: MockResponse) -> ConnexionResponse:
            return response_for(result, validator)

        async def answer(kwargs: dict[str, Any], scope: Scope) -> ConnexionResponse:
            head = head_of(scope)
            token_info = kwargs.pop("token_info", None)
            kwargs.pop("user", None)
            body = kwargs.pop("body", None)
            files = {}
            if uploads:
                files = {k: kwargs.pop(k) for k in list(kwargs) if _is_upload(kwargs[k])}
                if files:
                    body = {**(body or {}), **files}
            path = {in_path[k]: v for k, v in kwargs.items() if k in in_path}
            query = {declared.get(k, k): v for k, v in kwargs.items() if k not in in_path}
            fields = head.fields
            try:
                if not takes_body and _has_content(fields.get("content-length")):
                    raise errors.UnsupportedMediaType(errors.BODY_NOT_TAKEN)
                accept = fields.get("accept")
                negotiate(offered, accept)
                if "prefer" in fields:
                    forced = preferred_response(spec, op, head.preferences, examples)
                    if forced is not None:
                        return forced
                request = MockRequest(
                    caller=token_info["caller"] if token_info else OPEN_CALLER,
                    path=path,
                    query=query,
                    headers=fields,
                    body=body,
                )
                file = chosen(op.files, offered, accept)
                if file is None:
                    # The writes commit once `respond` has built the response.
                    return engine.handle(op, request, plain)
                about = str(path.get(op.path_param or "", op.resource.name))

                def respond(result: MockResponse) -> ConnexionResponse:
                    if result.status == op.success_status:
                        return file_response(result, file, about)
                    return response_for(result, validator)

                return engine.handle(op, request, respond)
            finally:
                for upload in files.values():
                    await upload.close()

        async def handle(**kwargs: Any) -> ConnexionResponse:
            # Straight from the ASGI scope: each `connexion.request` attribute access builds a
            # new request object.
            return await answer(kwargs, _scope.get())

        self.direct[operation.operation_id] = answer
        return Resolution(handle, operation.operation_id)


def parameter_names(op: Operation, where: str) -> dict[str, str]:
    """The declared name of each parameter in `where` (`path`, `query`) by the keyword
    connexion passes it as: its name with brackets and other non-identifier characters taken
    out (`created[lt]` comes as `created_lt`, `{applicant-id}` as `applicant_id`:
    `kycspec.keywords.keyword`), so a record, filter or page parameter is found by the name the
    spec gives it (`kycspec.keywords` refuses two with one keyword)."""
    return {keyword(p["name"], where): p["name"] for p in op.parameters if p.get("in") == where}


def response_for(result: MockResponse, validator: CompiledSchema | None) -> ConnexionResponse:
    """The engine's answer as an HTTP response: checked against the success response schema
    when response validation is on, and encoded.

    Raises `errors.InternalError` for a body the schema refuses; the request's writes are not
    committed then.
    """
    if validator is not None and result.body is not None:
        try:
            validator.validate(result.body)
        except ValidationError as exc:
            raise errors.InternalError(
                errors.RESPONSE_NOT_CONFORMING.format(reason=exc.message)
            ) from exc
    response = json_response(result.status, result.body)
    response.headers.update(result.headers)
    return response


def file_response(result: MockResponse, file: FileBody, about: str) -> ConnexionResponse:
    """A file success body (`mockserver.files`): the declared content or a stand-in about the
    record `about`, with its media type; starlette adds the `Content-Length`."""
    body = file_content(file, about)
    response = ConnexionResponse(status_code=result.status, body=body, content_type=file.media_type)
    response.headers.update(result.headers)
    return response


def _is_upload(value: Any) -> bool:
    return hasattr(value, "filename") and hasattr(value, "read")


AllowedMethods = Callable[[str], list[str]]
# The header fields an error answer to (method, request path, status) carries by declaration.
ErrorHeaders = Callable[[str, str, int], dict[str, str]]


def _path_items(document: JSONObject, base_path: str) -> Callable[[str], Mapping[str, Any]]:
    """The path item of the OpenAPI document a request path falls under (empty if none)."""
    routes: list[tuple[re.Pattern[str], Mapping[str, Any]]] = []
    for path, item in document["paths"].items():
        routes.append((path_pattern(base_path, path), item))

    def path_item(request_path: str) -> Mapping[str, Any]:
        return next((item for regex, item in routes if regex.match(request_path)), {})

    return path_item


def allowed_methods(document: JSONObject, base_path: str) -> AllowedMethods:
    """The methods an OpenAPI document declares for a request path (a 405's `Allow` header)."""
    path_item = _path_items(document, base_path)

    def allowed(request_path: str) -> list[str]:
        item = path_item(request_path)
        methods = [m.upper() for m in HTTP_METHODS if m in item]
        return [*methods, "HEAD"] if "GET" in methods else methods

    return allowed


def declared_error_headers(spec: ApiSpec, base_path: str) -> ErrorHeaders:
    """The headers the operation a request reached declares for an error status
    (`kycspec.headers.headers_for_status`: its response, its range, `default`, else those
    every error response of the operation declares), and for a request that reached none (an
    unknown path, an undeclared method) those every error response of the API declares;
    their values see no request (no `x-value` is allowed there) and the wall clock."""
    path_item = _path_items(spec.document, base_path)
    everywhere = shared_headers(op.headers for op in spec.operations.values())

    def fields(method: str, request_path: str, status: int) -> dict[str, str]:
        raw = path_item(request_path).get(method.lower())
        op = spec.operations.get(raw["operationId"]) if isinstance(raw, Mapping) else None
        headers = headers_for_status(op.headers, status) if op is not None else everywhere
        return header_fields(headers, Context(now=datetime.now(UTC))) if headers else {}

    return fields


def register_error_handlers(
    app: connexion.AsyncApp,
    formats: ErrorFormat,
    allowed: AllowedMethods | None = None,
    policy: TokenPolicy | None = None,
    declared: stateless.DeclaredErrors | None = None,
    headers: ErrorHeaders | None = None,
) -> None:
    """Render every error, the engine's and connexion's alike, in the given envelope; with
    `declared` (a plain document), as the operation's declared response where it has one;
    with `headers`, with the headers the operation declares for that status."""

    def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        error = to_mock_error(exc, policy, request.headers.get("authorization"))
        response = None
        if declared is not None:
            accept = request.headers.get("accept")
            response = declared.answer(request.method, request.url.path, error, accept)
        if response is None:
            response = json_response(error.status_code, error.body(formats), formats.media_type)
        response.headers.update(error.headers)
        if headers is not None:  # a declared value wins over the mock's default
            response.headers.update(headers(request.method, request.url.path, error.status_code))
        if error.status_code == 405 and allowed is not None:
            response.headers["Allow"] = ", ".join(allowed(request.url.path))
        return response

    for exc_class in (errors.MockError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exc_class, handle)


def to_mock_error(
    exc: Exception, policy: TokenPolicy | None = None, authorization: str | None = None
) -> errors.MockError:
    """The mock's error for anything raised while handling a request (`authorization`: the
    request's `Authorization` header, to name a credential sent in the wrong scheme)."""
    if isinstance(exc, errors.MockError):
        return exc
    if isinstance(exc, HTTPException):
        detail = str(exc.detail).split("\n", 1)[0]
        headers = dict(exc.headers or {})
        if exc.status_code == 401:
            headers.setdefault("WWW-Authenticate", challenge(policy.credentials if policy else ()))
            if policy is not None:
                # connexion raises OAuthResponseProblem for a key its check refused, and a
                # plain OAuthProblem when no credential was sent at all
                refused = isinstance(exc, OAuthResponseProblem)
                detail = unauthorized_message(policy, refused, authorization)
        return errors.error_for(exc.status_code, detail, headers)
    if isinstance(exc, StoreUnavailable):
        logger.error("store unavailable: %s", exc)
        return errors.error_for(503, errors.STORE_UNAVAILABLE, {"Retry-After": "1"})
    if isinstance(exc, UnicodeDecodeError):
        return errors.InvalidRequest(errors.BODY_NOT_UTF8)
    if isinstance(exc, MultiPartException):
        return errors.InvalidRequest(errors.BODY_NOT_MULTIPART)
    if isinstance(exc, json.JSONDecodeError):
        return errors.InvalidRequest(errors.BODY_NOT_JSON)
    logger.exception("unexpected error", exc_info=exc)
    return errors.InternalError("An unexpected error occurred in the mock server.")


def create_api_app(
    spec: ApiSpec,
    engine: Engine,
    policy: TokenPolicy,
    *,
    base_path: str,
    validate_responses: bool,
    slow_path: bool = False,
    lane: HotLane | None = None,
) -> connexion.AsyncApp:
    """A connexion app serving one spec at `base_path` (a plain document statelessly), through
    the hot path (`mockserver.hotpath`, on `lane` when given) and the compiled operations of
    `mockserver.compiled`, or with `slow_path` through connexion's reference chain only."""
    stateful = spec.stateful
    stack = middlewares(validate_responses=validate_responses, slow_path=slow_path)
    if not slow_path:
        stack.insert(0, functools.partial(HotPathMiddleware, lane=lane or HotLane()))
    app = CachedAsyncApp(
        __name__,
        security_map=security_map(policy) if stateful else stateless.SECURITY_MAP,
        middlewares=stack,
    )
    app.add_api(
        served_document(spec.document),
        base_path=base_path,
        resolver=EngineResolver(spec, engine, validate_responses=validate_responses)
        if stateful
        else stateless.StatelessResolver(spec),
        # A plain document's schemas allow what they do not forbid (extra form fields, as
        # JSON Schema's additionalProperties); the x- specs refuse anything undeclared.
        strict_validation=stateful,
        validate_responses=validate_responses,
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui=True,
            swagger_ui_template_arguments={"title": DOCS_TITLE.format(title=spec.title)},
        ),
        validator_map=validator_map(),
        uri_parser_class=SingleValueURIParser,
    )
    allowed = allowed_methods(spec.document, base_path)
    if stateful:
        headers = declared_error_headers(spec, base_path)
        register_error_handlers(app, spec.errors, allowed, policy, headers=headers)
    else:
        declared = stateless.DeclaredErrors(spec, base_path)
        register_error_handlers(app, spec.errors, allowed, declared=declared)
    return app


def _has_content(length: str | None) -> bool:
    """Whether a request's `Content-Length` announces content (RFC 9110 §8.6: a decimal
    number of octets, so `00` is none). A chunked body reaches the handler with its length
    counted by the edge."""
    return length is not None and length.strip("0") != ""
