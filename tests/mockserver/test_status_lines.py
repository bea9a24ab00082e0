"""The status line each HTTP server writes (README, "Features and limitations"): reason phrases
as RFC 9110 names them where the server lets the mock choose (uvicorn), Rust's `http` crate's on
Granian; the HTTP version of an HTTP/1.0 request's answer; the envelope's `$title` is RFC 9110's
on either."""

import socket
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mockserver.app import MockApp, create_app
from mockserver.httpserver import GRANIAN, SERVERS, UVICORN
from mockserver.testing import serve_in_thread
from tests.mockserver.conftest import bearer

LIMIT = 64
SOCKET_TIMEOUT_S = 30.0
# What each server writes for a 413 and for an HTTP/1.0 request's 404.
TOO_LARGE = {
    UVICORN: b"HTTP/1.1 413 Content Too Large",  # RFC 9110 section 15.5.14
    GRANIAN: b"HTTP/1.1 413 Payload Too Large",  # Rust's http crate, StatusCode::PAYLOAD_TOO_LARGE
}
HTTP_1_0 = {
    UVICORN: b"HTTP/1.1 404 Not Found",  # the highest version it speaks (RFC 9110 section 2.5)
    GRANIAN: b"HTTP/1.0 404 Not Found",  # the request's version
}


@pytest.fixture(scope="module")
def small_app() -> MockApp:
    return create_app(api="kontorion", max_body_bytes=LIMIT)


@pytest.fixture(params=SERVERS)
def served(request: pytest.FixtureRequest, small_app: MockApp) -> Iterator[tuple[str, str]]:
    with serve_in_thread(small_app, server=request.param) as url:
        yield request.param, url


def _status_line(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
    return data.split(b"\r\n", 1)[0]


def test_413_status_line(served: tuple[str, str]) -> None:
    server, url = served
    body = b"{" + b" " * LIMIT + b"}"
    request = (
        b"POST /v1/customer-verifications HTTP/1.1\r\nHost: mock\r\n"
        b"Authorization: Bearer test_lines\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    assert _status_line(url, request) == TOO_LARGE[server]


def test_http_1_0_status_line(served: tuple[str, str]) -> None:
    server, url = served
    request = b"GET /v1/nothing-here HTTP/1.0\r\nHost: mock\r\n\r\n"
    assert _status_line(url, request) == HTTP_1_0[server]


def test_envelope_title_is_the_rfc_9110_reason_phrase(small_app: MockApp) -> None:
    response = TestClient(small_app).post(
        "/v1/customer-verifications",
        headers=bearer("test_lines"),
        content=b"{" + b" " * LIMIT + b"}",
    )
    assert response.status_code == 413
    assert response.json()["title"] == "Content Too Large"
