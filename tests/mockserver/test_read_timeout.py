"""A request body that stops coming: answered 408 after the read timeout, or after a short
grace once a stop has begun (`mockserver.readtimeout`), on both HTTP servers; a slow body that
keeps coming is read in full."""

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.types import Message

from mockserver import cli, errors
from mockserver.app import MockApp, create_app
from mockserver.httpserver import SERVERS
from mockserver.readtimeout import ReadTimeout
from mockserver.testing import serve_in_thread
from tests.tinyspec import tiny_document, write_spec

READ_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 30.0  # a bound no answer here comes near
TINY_BODY = b'{"name": "slow but steady"}'


@pytest.fixture(scope="module")
def tiny_app(tmp_path_factory: pytest.TempPathFactory) -> MockApp:
    directory = tmp_path_factory.mktemp("specs")
    write_spec(directory, tiny_document())
    return create_app(directory, api="tiny", read_timeout_s=READ_TIMEOUT_S)


@pytest.fixture(params=SERVERS)
def tiny_url(request: pytest.FixtureRequest, tiny_app: MockApp) -> Iterator[str]:
    with serve_in_thread(tiny_app, server=request.param) as url:
        yield url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT_S)


def _head(path: str, length: int, *, token: str = "test_reads") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _answer(sock: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """Status line, headers and body of the response, read until the server closes."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def test_a_stalled_body_is_408_in_the_vendor_envelope(tiny_url: str) -> None:
    with _connect(tiny_url) as sock:
        sock.sendall(_head("/v1/things", 1000) + b'{"name": "')
        status, headers, body = _answer(sock)  # the server closes the connection
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert headers["connection"] == "close"
    assert json.loads(body) == {"error": errors.BODY_TIMED_OUT.format(seconds="1")}


def test_a_stalled_body_to_the_control_plane_is_408_problem_json(tiny_url: str) -> None:
    with _connect(tiny_url) as sock:
        sock.sendall(_head("/__mock/fixtures", 1000) + b"[")
        status, headers, body = _answer(sock)
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["detail"] == errors.BODY_TIMED_OUT.format(seconds="1")


def test_a_slow_body_that_keeps_coming_is_read_in_full(tiny_url: str) -> None:
    """Each part comes well within the read timeout; the whole body takes longer than it."""
    parts = [TINY_BODY[i : i + 1] for i in range(len(TINY_BODY))]
    with _connect(tiny_url) as sock:
        sock.sendall(_head("/v1/things", len(TINY_BODY)))
        for part in parts:
            sock.sendall(part)
            time.sleep(READ_TIMEOUT_S / 10)
        sock.shutdown(socket.SHUT_WR)
        status, _, body = _answer(sock)
    assert status == b"HTTP/1.1 201 Created", body
    assert json.loads(body)["name"] == "slow but steady"


def test_a_stop_cuts_a_body_still_coming_after_the_grace() -> None:
    """Without a stop the read would wait its whole timeout (an hour here)."""

    async def never() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def read_during_a_stop() -> None:
        reads = ReadTimeout(timeout_s=3600, grace_s=0.01)
        receive = reads.wrap(never)
        waiting = asyncio.ensure_future(receive())
        await asyncio.sleep(0)  # the read has started waiting
        reads.stop()
        with pytest.raises(errors.RequestTimeout) as raised:
            await asyncio.wait_for(waiting, SOCKET_TIMEOUT_S)
        assert raised.value.detail == errors.BODY_CUT_BY_STOP.format(seconds="0.01")
        assert raised.value.headers["Connection"] == "close"

    asyncio.run(read_during_a_stop())


def test_a_complete_body_leaves_later_reads_untimed() -> None:
    """An app may wait for the client to disconnect after the body as long as it likes."""
    messages = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await asyncio.sleep(0.05)  # longer than the read timeout below
        return {"type": "http.disconnect"}

    async def read() -> None:
        timed = ReadTimeout(timeout_s=0.01).wrap(receive)
        assert (await timed())["body"] == b"{}"
        assert (await timed())["type"] == "http.disconnect"

    asyncio.run(read())


def test_serve_read_timeout_reaches_the_app_and_the_server(
    tmp_path: Path, started: dict[str, Any]
) -> None:
    write_spec(tmp_path, tiny_document())
    serve = ["serve", "--port", "0", "--specs-dir", str(tmp_path), "--read-timeout", "7.5"]
    result = CliRunner().invoke(cli.main, serve)
    assert result.exit_code == 0, result.output
    assert started["read_timeout_s"] == 7.5
    assert started["app"].reads.timeout_s == 7.5
    assert started["on_stop"] == started["app"].reads.stop
