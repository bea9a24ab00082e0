"""The ASGI edge in front of each API: body size limit, Prism-style delays, the request log.

These act on raw ASGI messages, before connexion parses anything, so an oversized body is
refused without being read into memory.
"""

import asyncio
import contextlib
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kycspec.model import ApiSpec
from mockserver import errors
from mockserver.prefer import parse_prefer
from mockserver.sandbox import TokenPolicy
from mockserver.store import LoggedRequest, Store, StoreUnavailable

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_DELAY_MS = 30_000
# The only request headers the edge reads (ASGI gives names in lower case, but be lenient).
_READ = frozenset((b"content-length", b"prefer", b"authorization", b"transfer-encoding"))
_SANDBOX_CACHE_SIZE = 1024


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
    ):
        self.app = app
        self.spec = spec
        self.store = store
        self.policy = policy
        self.max_body_bytes = max_body_bytes
        self._sandboxes: dict[bytes, str | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        length = prefer = authorization = encoding = None
        for key, value in scope["headers"]:
            name = key.lower()
            if name in _READ:
                if name == b"content-length":
                    length = value
                elif name == b"prefer":
                    prefer = value
                elif name == b"authorization":
                    authorization = value
                else:
                    encoding = value
        status = {"code": 500}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            declared = int(length or 0)
        except ValueError:
            declared = 0
        delay = parse_prefer(prefer.decode("latin-1")).get("delay") if prefer else None
        try:
            if declared > self.max_body_bytes:
                raise _BodyTooLarge
            if delay is not None and delay.isdigit():
                await asyncio.sleep(min(int(delay), MAX_DELAY_MS) / 1000)
            if length is None and encoding is not None and b"chunked" in encoding:
                scope, receive = await self._buffered(scope, receive)
            await self.app(scope, self._limited(receive), logged_send)
        except _BodyTooLarge:
            await self._too_large(logged_send)
        finally:
            self._log(scope, authorization, status["code"], started)

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

    async def _buffered(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        """Read a chunked body (within the limit) and give the request its Content-Length.

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
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        raw = [(k, v) for k, v in scope["headers"] if k.lower() != b"transfer-encoding"]
        raw.append((b"content-length", str(len(body)).encode()))
        return {**scope, "headers": raw}, replay

    async def _too_large(self, send: Send) -> None:
        error = errors.PayloadTooLarge(errors.BODY_TOO_LARGE.format(limit=self.max_body_bytes))
        body = orjson.dumps(error.body(self.spec.errors))
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", self.spec.errors.media_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope: Scope, authorization: bytes | None, status: int, started: float) -> None:
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
        with contextlib.suppress(StoreUnavailable):
            self.store.log(entry)

    def _sandbox(self, authorization: bytes | None) -> str | None:
        if not authorization:
            return None
        if authorization in self._sandboxes:
            return self._sandboxes[authorization]
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        caller = self.policy.resolve(token.strip()) if scheme.lower() == "bearer" else None
        if len(self._sandboxes) >= _SANDBOX_CACHE_SIZE:
            self._sandboxes.clear()
        self._sandboxes[authorization] = sandbox = caller.sandbox if caller else None
        return sandbox
