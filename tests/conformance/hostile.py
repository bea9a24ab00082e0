"""Servers that misbehave at the transport, as ASGI wrappers around the mock.

- `Hang`: requests with one method never get an answer (the connection stays open);
- `Endless`: every API answer (or those to some methods) is a 200 JSON body that never ends (as
  fast as the client reads);
- `trickle`: every API answer is a 200 JSON body that arrives one chunk every `interval`
  seconds, for ever: each read is quick, the whole never completes;
- `EmptyBodyRefused`: an empty form (a form Content-Type, no content) is a 400, as a missing
  required body.

The control plane (`/__mock`) is left alone. Every stream stops when the client goes away, so
the test server can shut down.
"""

import asyncio
import contextlib
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

OPENING = b'{"data":['
FORM = b"application/x-www-form-urlencoded"
MISSING_BODY = b'{"error": "the request body is required"}'
ITEM = b'{"id":"record","note":"' + b"x" * 1000 + b'"},'


def _api_request(scope: Scope) -> bool:
    return scope["type"] == "http" and not scope["path"].startswith("/__mock")


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _stream_for_ever(receive: Receive, send: Send, chunk: bytes, interval: float) -> None:
    """A 200 JSON answer whose body never ends; it stops when the client disconnects."""
    gone = asyncio.Event()

    async def listen() -> None:
        await _until_disconnect(receive)
        gone.set()

    listener = asyncio.create_task(listen())
    headers = [(b"content-type", b"application/json")]
    with contextlib.suppress(OSError):  # uvicorn's ClientDisconnected
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": OPENING, "more_body": True})
        while not gone.is_set():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(interval)
    listener.cancel()


class Hang:
    """Requests with `method` never get an answer."""

    def __init__(self, app: ASGIApp, method: str):
        self.app = app
        self.method = method

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _api_request(scope) and scope["method"] == self.method:
            await _until_disconnect(receive)
            return
        await self.app(scope, receive, send)


class Endless:
    """Every API answer (to one of `methods`, when given) is a JSON body without end."""

    def __init__(
        self,
        app: ASGIApp,
        interval: float = 0.0,
        chunk: bytes = ITEM * 64,
        methods: tuple[str, ...] | None = None,
    ):
        self.app = app
        self.interval = interval
        self.chunk = chunk
        self.methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _api_request(scope) and (self.methods is None or scope["method"] in self.methods):
            await _stream_for_ever(receive, send, self.chunk, self.interval)
            return
        await self.app(scope, receive, send)


def trickle(app: ASGIApp, interval: float = 0.05) -> Any:
    """Every API answer trickles in, one small chunk every `interval` seconds, for ever."""
    return Endless(app, interval, ITEM)


def _header(scope: Scope, name: bytes) -> bytes:
    return next((v for k, v in scope["headers"] if k.lower() == name), b"")


async def _error(send: Send, status: int, body: bytes | None = None) -> None:
    body = body or b'{"error": {"code": "x", "message": "x", "status": %d}}' % status
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class EdgeServerError:
    """Answers 500 to a request whose Content-Type is not written in lowercase without spaces
    (a server that compares media types as plain strings, and crashes on the mismatch)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = _header(scope, b"content-type") if _api_request(scope) else b""
        if content_type and content_type != content_type.lower().replace(b" ", b""):
            await _error(send, 500)
            return
        await self.app(scope, receive, send)


class StoresRefused:
    """A create in an unknown content coding is stored as if it were plain, yet answered 415:
    a refusal that changed state."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        coding = _header(scope, b"content-encoding") if _api_request(scope) else b""
        if scope.get("method") != "POST" or coding in (b"", b"gzip"):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-encoding"]

        async def discard(message: Any) -> None:
            return None

        await self.app({**scope, "headers": headers}, receive, discard)
        await _error(send, 415)


class EmptyBodyRefused:
    """Answers 400 (`MISSING_BODY`, a plain error string) to an API request that says it sends
    a form and has no content, whatever the operation; every other request reaches the app."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        form = _header(scope, b"content-type").startswith(FORM)
        if not _api_request(scope) or not form:
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not body:
            await _error(send, 400, MISSING_BODY)
            return
        await self.app(scope, _replay(body), send)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
