"""The ASGI edge in front of each API: the request head, body size limit and content codings,
Prism-style delays, the request log.

These act on raw ASGI messages, before connexion parses anything, so an oversized body is
refused without being read into memory. The edge reads the request head through
`mockserver.head` and hands connexion the canonical one; a request the head rules refuse
(a single-valued field sent twice, an unsupported charset or content coding, a path or query
that is not UTF-8) is answered here, in the vendor's error envelope.
"""

import time
from asyncio import sleep

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kycspec.model import ApiSpec
from mockserver import errors
from mockserver.api import ErrorHeaders
from mockserver.bodies import decode_content, is_utf8_url
from mockserver.head import (
    HEAD,
    LIST_VALUED,
    SINGLE_VALUED,
    RequestHead,
    canonical,
    read_head,
    split_list,
)
from mockserver.hotpath import DECLINED, HotLane
from mockserver.sandbox import TokenPolicy
from mockserver.store import LoggedRequest, Store, StoreUnavailable

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_DELAY_MS = 30_000
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})
_BODY_FIELDS = frozenset({"content-length", "transfer-encoding", "content-type"})


class _BodyTooLarge(Exception):
    pass


class ApiEdge:
    """Wraps one API's connexion app."""

    def __init__(
        self,
        app: ASGIApp,
        spec: ApiSpec,
        store: Store,
        policy: TokenPolicy,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        lane: HotLane | None = None,
        error_headers: ErrorHeaders | None = None,
    ):
        self.app = app
        self.lane = lane
        self.error_headers = error_headers
        self.spec = spec
        self.store = store
        self.policy = policy
        self.max_body_bytes = max_body_bytes
        declared = {
            str(parameter["name"]).lower()
            for op in spec.operations.values()
            for parameter in op.parameters
            if parameter.get("in") == "header"
            and parameter.get("schema", {}).get("type") != "array"
        }
        self._single_valued = sorted((SINGLE_VALUED | declared) - LIST_VALUED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A request `hot` admitted and the hot path declined: admitted as it is, timed from then.
        admitted: float | None = scope.get(DECLINED)
        started = time.perf_counter() if admitted is None else admitted
        scope = canonical(scope)
        head: RequestHead = scope[HEAD]
        status = {"code": 500}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            try:
                if admitted is None:
                    scope, receive = await self._admit(scope, head, receive)
            except errors.MockError as error:
                await self._refuse(error, scope, logged_send)
                return
            await self.app(scope, self._limited(receive), logged_send)
        except _BodyTooLarge:
            await self._refuse(self._too_large(), scope, logged_send)
        finally:
            self._log(scope, head.get("authorization"), status["code"], started)

    async def hot(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Answer on the hot path (`mockserver.hotpath`) a request the head rules admit as it
        is (no delay, no body to decode, within the size limit) and that does not ask for CORS
        (no `Origin`), logged as `__call__` logs it, and return None; for any other request,
        having changed nothing, return the `receive` to hand it on with."""
        if self.lane is None:
            return receive
        started = time.perf_counter()
        head: RequestHead = scope[HEAD]
        if "origin" in head.fields:
            return receive
        try:
            delay, codings, chunked = self._check(scope, head)
        except errors.MockError:
            return receive
        if delay is not None or codings or chunked:
            return receive
        try:
            answer, receive = await self.lane.respond(
                scope, receive, vary=True, limit=self.max_body_bytes
            )
        except errors.RequestTimeout as error:  # the body stalled (mockserver.readtimeout)
            try:
                await self._refuse(error, scope, send)
            finally:
                self._log(scope, head.get("authorization"), error.status_code, started)
            return None
        if answer is None:
            scope[DECLINED] = started
            return receive
        try:
            await answer.send(send)
        finally:
            self._log(scope, head.get("authorization"), answer.status, started)
        return None

    def _check(self, scope: Scope, head: RequestHead) -> tuple[str | None, list[str], bool]:
        """The head and body rules that need nothing but the head: the request's delay
        (`Prefer: delay`, milliseconds as sent), content codings and whether its body is
        chunked; raises the `errors.MockError` that refuses it."""
        repeated = head.repeated(self._single_valued)
        if repeated:
            raise errors.InvalidRequest(errors.HEADER_REPEATED.format(name=repeated[0]))
        if not is_utf8_url(scope.get("raw_path") or b""):
            raise errors.InvalidRequest(errors.PATH_NOT_UTF8)
        if not is_utf8_url(scope.get("query_string", b"")):
            raise errors.InvalidRequest(errors.QUERY_NOT_UTF8)
        fields = head.fields
        # Without any of these fields the request has no body (RFC 9112 §6.3).
        chunked = not fields.keys().isdisjoint(_BODY_FIELDS) and self._check_body(head)
        delay = head.preferences.get("delay") if "prefer" in fields else None
        coding = fields.get("content-encoding")
        codings = split_list(coding) if coding else []
        return (delay if delay is not None and delay.isdigit() else None), codings, chunked

    def _check_body(self, head: RequestHead) -> bool:
        """The body rules of `_check` (its length within the limit, a well-formed media type
        in a UTF-8 charset, RFC 9110 §8.3 and §8.6); whether the body is chunked (RFC 9112
        §6.1)."""
        length = head.get("content-length")
        try:
            declared = int(length or 0)
        except ValueError:
            declared = 0
        if declared > self.max_body_bytes:
            raise self._too_large()
        chunked = length is None and "chunked" in split_list(
            (head.get("transfer-encoding") or "").lower()
        )
        media_type = head.content_type
        given = head.get("content-type")
        if declared and given is None:  # a chunked body is checked once read (`_buffered`)
            raise errors.UnsupportedMediaType(errors.MEDIA_TYPE_MISSING)
        if (declared or chunked) and media_type is None and given is not None:
            raise errors.UnsupportedMediaType(
                errors.MEDIA_TYPE_MALFORMED.format(value=errors.shown(given))
            )
        charset = media_type.parameter("charset") if media_type else None
        if (declared or chunked) and charset is not None and charset not in UTF8_CHARSETS:
            raise errors.UnsupportedMediaType(
                errors.CHARSET_UNSUPPORTED.format(charset=errors.shown(charset))
            )
        return chunked

    async def _admit(
        self, scope: Scope, head: RequestHead, receive: Receive
    ) -> tuple[Scope, Receive]:
        """The request as connexion gets it, after the head and body rules; raises the
        `errors.MockError` that refuses it."""
        delay, codings, chunked = self._check(scope, head)
        if delay is not None:
            await sleep(min(int(delay), MAX_DELAY_MS) / 1000)
        if codings or chunked:
            return await self._buffered(scope, receive, codings)
        return scope, receive

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        return limited

    async def _buffered(
        self, scope: Scope, receive: Receive, codings: list[str]
    ) -> tuple[Scope, Receive]:
        """Read a chunked or content-coded body (within the limit), undo its content codings
        (`mockserver.bodies.decode_content`), and give the request its Content-Length.

        connexion takes a request without Content-Length for one without a body, so a chunked
        body was refused as missing (400), and an oversized one never reached the 413.
        """
        limited = self._limited(receive)
        chunks = []
        more = True
        while more:
            message = await limited()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = decode_content(b"".join(chunks), codings, self.max_body_bytes)
        if body and scope[HEAD].get("content-type") is None:
            raise errors.UnsupportedMediaType(errors.MEDIA_TYPE_MISSING)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        dropped = (b"transfer-encoding", b"content-encoding", b"content-length")
        raw = [(k, v) for k, v in scope["headers"] if k not in dropped]
        raw.append((b"content-length", str(len(body)).encode()))
        return {**scope, "headers": raw, HEAD: read_head(raw)}, replay

    def _too_large(self) -> errors.MockError:
        return errors.PayloadTooLarge(errors.BODY_TOO_LARGE.format(limit=self.max_body_bytes))

    async def _refuse(self, error: errors.MockError, scope: Scope, send: Send) -> None:
        """Answer with the error in the vendor's envelope, with the headers the spec declares
        for it (`error_headers`), and close the connection (the body may be partly unread)."""
        body = orjson.dumps(error.body(self.spec.errors))
        headers = [
            (b"content-type", self.spec.errors.media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        fields = dict(error.headers)
        if self.error_headers is not None:  # a declared value wins over the mock's default
            fields.update(self.error_headers(scope["method"], scope["path"], error.status_code))
        headers += [
            (k.lower().encode(), v.encode())
            for k, v in fields.items()
            if k.lower() != "connection"  # sent above
        ]
        await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope: Scope, authorization: str | None, status: int, started: float) -> None:
        entry = LoggedRequest(
            at=time.time(),
            sandbox=self._sandbox(authorization),
            api=self.spec.name,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        # The request has its answer (a 503 if it needed the store); only the entry is lost.
        # (`contextlib.suppress` would build a context manager per request.)
        try:  # noqa: SIM105
            self.store.log(entry)
        except StoreUnavailable:
            pass

    def _sandbox(self, authorization: str | None) -> str | None:
        """The sandbox a bearer credential opens (the policy remembers each token's caller)."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        caller = self.policy.resolve(token.strip()) if scheme.lower() == "bearer" else None
        return caller.sandbox if caller else None
