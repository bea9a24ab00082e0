"""HTTP/1.1 requests as raw bytes on a socket, so a test can send what no HTTP client would.

`RawRequest` is one request message, written byte for byte (RFC 9112 section 2.1: request line,
field lines, empty line, body); `wire_valid` says whether it is a well-formed message, so a test
knows whether the server's HTTP parser must pass it on to the application or may refuse it
itself. `exchange` sends one request on a new connection and reads the response.
"""

import contextlib
import http.client
import re
import socket
from dataclasses import dataclass

# RFC 9110 section 5.6.2: token = 1*tchar.
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 section 5.5: field-value = *field-content (VCHAR, obs-text, SP and HTAB inside).
FIELD_VALUE = re.compile(rb"([\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]*[\x21-\x7e\x80-\xff])?)?")
# RFC 9112 section 3.2.1 origin-form: absolute-path [ "?" query ], RFC 3986 characters only.
_PCHAR = rb"[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}"
ORIGIN_FORM = re.compile(rb"(/(%s)*)+(\?(%s|[/?])*)?" % (_PCHAR, _PCHAR))
# What each HTTP server refuses with its own plain 4xx before any application sees the request,
# although RFC 9110 allows it. uvicorn's parser (llhttp, through httptools): a method outside its
# method table (constants.ts, HTTP methods) and a request-target longer than 64 KiB (a 400).
# Granian's (hyper): any token is a method; a request-target of 65,535 bytes or more is a 414.
PARSER_METHODS = frozenset(
    b"DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH "
    b"SEARCH UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY "
    b"SUBSCRIBE UNSUBSCRIBE PATCH PURGE MKCALENDAR LINK UNLINK SOURCE QUERY".split()
)
PARSER_MAX_TARGET = {"uvicorn": 65535, "granian": 65534}
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class RawRequest:
    """One HTTP/1.1 request. The framing fields are added when it is written: Content-Length
    (or chunked transfer coding, with `chunked`) and `Connection: close`."""

    method: bytes
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes = b""
    chunked: bool = False

    @property
    def wire_valid(self) -> bool:
        """Whether this is a well-formed HTTP/1.1 message (RFC 9110, RFC 9112)."""
        names = [name.lower() for name, _ in self.headers]
        return (
            bool(TOKEN.fullmatch(self.method))
            and bool(ORIGIN_FORM.fullmatch(self.target))
            and all(
                TOKEN.fullmatch(name) and FIELD_VALUE.fullmatch(value)
                for name, value in self.headers
            )
            and names.count(b"host") == 1
        )

    def reaches_application(self, server: str) -> bool:
        """Whether the HTTP server ("uvicorn" or "granian") hands this request to the
        application (`PARSER_METHODS`, `PARSER_MAX_TARGET`)."""
        return (
            self.wire_valid
            and (server == "granian" or self.method in PARSER_METHODS)
            and len(self.target) <= PARSER_MAX_TARGET[server]
        )

    def to_bytes(self) -> bytes:
        lines = [self.method + b" " + self.target + b" HTTP/1.1"]
        lines += [name + b": " + value for name, value in self.headers]
        if self.chunked:
            lines.append(b"Transfer-Encoding: chunked")
            framed = b"".join(
                b"%x\r\n%s\r\n" % (len(part), part)
                for part in (self.body[i : i + 4096] for i in range(0, len(self.body), 4096))
            )
            body = framed + b"0\r\n\r\n"
        else:
            if self.body or self.method not in (b"GET", b"HEAD", b"DELETE", b"OPTIONS"):
                lines.append(b"Content-Length: %d" % len(self.body))
            body = self.body
        lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass(frozen=True)
class RawResponse:
    """The response to a `RawRequest`; `status` 0 means the server closed without one."""

    status: int
    headers: dict[str, str]
    body: bytes


def exchange(host: str, port: int, request: RawRequest) -> RawResponse:
    """Send `request` on a new connection and read the whole response.

    Raises `TimeoutError` when the server neither answers nor closes within `TIMEOUT_S`.
    """
    with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
        # the server may answer and close before it has read a large request
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request.to_bytes())
        response = http.client.HTTPResponse(sock, method=request.method.decode("latin-1"))
        try:
            response.begin()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return RawResponse(0, {}, b"")
        try:
            body = response.read()
        except http.client.IncompleteRead as exc:
            body = exc.partial
        headers = {name.lower(): value for name, value in response.getheaders()}
        return RawResponse(response.status, headers, body)
