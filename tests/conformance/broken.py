"""`BrokenApp`: the mock behind an ASGI middleware that breaks one rule at a time.

Each mode is the smallest plausible vendor bug for one check, so a test can show that check
fails and names the right requirement. The control plane (`/__mock`) is left alone: it is the
suite's tool, not part of the API under test.
"""

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]
RawResponse = tuple[int, Headers, bytes]


def _get(headers: Headers, name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _set(headers: Headers, name: bytes, value: bytes) -> Headers:
    return [(k, v) for k, v in headers if k.lower() != name] + [(name, value)]


def _swap_token(old: bytes, new: bytes) -> Callable[[Scope], Scope]:
    def rewrite(scope: Scope) -> Scope:
        auth = _get(scope["headers"], b"authorization")
        if auth is None or auth == b"Bearer " + old or old == b"*":
            auth = b"Bearer " + new
        return {**scope, "headers": _set(scope["headers"], b"authorization", auth)}

    return rewrite


def _fill_headers(scope: Scope) -> Scope:
    """Ignore required headers: supply them when missing, one tenant for everybody."""
    headers = _set(scope["headers"], b"x-tenant-id", b"conformance")
    for name, value in ((b"user-agent", b"broken/1.0"), (b"x-forwarded-for", b"192.0.2.1")):
        if not _get(headers, name):
            headers = _set(headers, name, value)
    return {**scope, "headers": headers}


def _json_body(status: int, headers: Headers, body: bytes, value: Any) -> RawResponse:
    data = json.dumps(value).encode()
    return status, _set(headers, b"content-length", str(len(data)).encode()), data


# Request rewrites, by mode.
REQUESTS: dict[str, Callable[[Scope], Scope]] = {
    "no_auth": _swap_token(b"*", b"test_conf"),  # any or no token is the main account
    "leak": _swap_token(b"test_other", b"test_conf"),  # account B sees account A
    "no_admin": _swap_token(b"test_conf", b"admin_conf"),  # everyone is an admin
    "ignore_headers": _fill_headers,
}


def _server_error(scope: Scope, response: RawResponse) -> RawResponse:
    _status, headers, body = response
    if scope["method"] == "GET" and b"limit=" in scope.get("query_string", b""):
        return _json_body(
            500, headers, body, {"error": {"code": "x", "message": "x", "status": 500}}
        )
    return response


def _wrong_type(scope: Scope, response: RawResponse) -> RawResponse:
    status, headers, body = response
    return status, _set(headers, b"content-type", b"text/plain"), body


def _bad_body(scope: Scope, response: RawResponse) -> RawResponse:
    status, headers, body = response
    if 200 <= status < 300 and body:
        return _json_body(status, headers, body, {"unexpected": True})
    return response


def _accept_invalid(scope: Scope, response: RawResponse) -> RawResponse:
    status, headers, body = response
    return (
        _json_body(200, headers, body, {"has_more": False, "data": []})
        if status == 400
        else response
    )


def _refuse_valid(scope: Scope, response: RawResponse) -> RawResponse:
    status, headers, body = response
    if scope["method"] == "POST" and 200 <= status < 300:
        return _json_body(
            400, headers, body, {"error": {"code": "x", "message": "x", "status": 400}}
        )
    return response


def _teapot(scope: Scope, response: RawResponse) -> RawResponse:
    _status, headers, body = response
    return (418, headers, body) if scope["method"] == "GET" else response


def _lose_records(scope: Scope, response: RawResponse) -> RawResponse:
    status, headers, body = response
    if scope["method"] == "GET" and status == 200 and scope["path"].count("/") >= 4:
        return _json_body(
            404, headers, body, {"error": {"code": "x", "message": "x", "status": 404}}
        )
    return response


# Response rewrites, by mode.
RESPONSES: dict[str, Callable[[Scope, RawResponse], RawResponse]] = {
    "server_error": _server_error,
    "wrong_content_type": _wrong_type,
    "bad_body": _bad_body,
    "accept_invalid": _accept_invalid,
    "refuse_valid": _refuse_valid,
    "teapot": _teapot,
    "lose_records": _lose_records,
}
# Modes that answer without the mock.
SKIP_DELETE = "skip_delete"  # DELETE says 204 and deletes nothing


class BrokenApp:
    """The wrapped app, with `mode` naming the breakage (None: behave)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.mode: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mode = self.mode
        if scope["type"] != "http" or mode is None or scope["path"].startswith("/__mock"):
            await self.app(scope, receive, send)
            return
        if mode == SKIP_DELETE and scope["method"] == "DELETE":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if mode == SKIP_DELETE:
            await self.app(scope, receive, send)
            return
        if mode in REQUESTS:
            await self.app(REQUESTS[mode](scope), receive, send)
            return
        await self._rewrite_response(scope, receive, send, RESPONSES[mode])

    async def _rewrite_response(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        rewrite: Callable[[Scope, RawResponse], RawResponse],
    ) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        status, headers, body = rewrite(
            scope, (start["status"], list(start.get("headers", [])), b"".join(chunks))
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
