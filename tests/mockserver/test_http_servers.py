"""`mockserver serve` on each HTTP server it offers (`--server granian`, the default, and
`--server uvicorn`), as real processes: the banner once ready, a graceful stop on SIGTERM and
on CTRL-C (SIGINT) that runs the app's shutdown, and several workers on one Redis store."""

import http.client
import os
import signal
import socket
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mockserver import errors
from mockserver.httpserver import DEFAULT_SERVER, GRANIAN, SERVERS, UVICORN
from mockserver.readtimeout import STOP_GRACE_S
from mockserver.testing import WebhookReceiver
from tests.mockprocess import mock_process
from tests.mockserver.conftest import FINX, bearer, finx_body
from tests.redisserver import flush

BANNER = "kyc-contracts mock, ready in"
REDIS_DATABASE = 13  # of the session's Redis; other modules use other numbers
CREATES = 8
WORKERS_STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0  # far beyond the stop's grace; a stop held up by a client never ends


def _create(url: str, sandbox: str, count: int, root: str = FINX) -> set[str]:
    with httpx.Client(base_url=url, timeout=30) as http:
        return {
            http.post(f"{root}/kyc", headers=bearer(f"test_{sandbox}"), data=finx_body()).json()[
                "id"
            ]
            for _ in range(count)
        }


def _listed(url: str, sandbox: str) -> set[str]:
    response = httpx.get(f"{url}{FINX}/kyc", headers=bearer(f"test_{sandbox}"), timeout=30)
    assert response.status_code == 200, response.text
    return {record["id"] for record in response.json()["data"]}


def _created(event: Any) -> bool:
    return bool(event["type"] == "kyc_record.created")


def test_granian_is_the_default() -> None:
    assert DEFAULT_SERVER == GRANIAN


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_gracefully_and_saves_its_state(
    tmp_path: Path, server: str, stop: signal.Signals
) -> None:
    """A stop signal (a service manager's SIGTERM, CTRL-C's SIGINT to the terminal's process
    group) runs the app's shutdown: the file store is saved, so a restart has every record."""
    store = f"file://{tmp_path / 'state.json'}"
    with mock_process(tmp_path, "--server", server, "--store", store) as first:
        created = _create(first.url, "graceful", 3)
        os.killpg(first.process.pid, stop)
        assert first.process.wait(timeout=30) == 0
        output = first.output.read_text()
    assert output.count(BANNER) == 1, output
    assert "Traceback" not in output, output
    with mock_process(tmp_path, "--server", server, "--store", store) as second:
        assert _listed(second.url, "graceful") == created


# uvicorn's workers are spawned (each imports everything and builds its app from nothing), which on
# a busy 2-CPU box can outlast any start-up timeout: the long runs check them.
@pytest.mark.parametrize("server", [GRANIAN, pytest.param(UVICORN, marks=pytest.mark.slow)])
def test_serve_workers_on_redis_deliver_each_webhook_once(
    redis_url: str, tmp_path: Path, server: str
) -> None:
    url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DATABASE}"
    flush(url)
    with WebhookReceiver() as receiver:
        serve = ("--server", server, "--store", url, "--workers", "2", "--api", "finx")
        serve += ("--webhook-url", receiver.url)
        with mock_process(tmp_path, *serve, timeout=WORKERS_STARTUP_TIMEOUT_S) as mock:
            created = _create(mock.url, "workers", CREATES, root="/v1")
            events = receiver.wait_for(_created, count=CREATES)
            assert {event["data"]["object"]["id"] for event in events} == created
            mock.stop()
        delivered = [event["id"] for event in receiver.events]
        assert len(delivered) == len(set(delivered))  # no event twice


def _stalled(url: str, path: str, sent: bytes) -> socket.socket:
    """A connection that sent a request head announcing 1000 bytes of body, and `sent` of them."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=STOP_TIMEOUT_S)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer test_stalled\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    sock.sendall(head.encode() + sent)
    return sock


def _response(sock: socket.socket) -> tuple[bytes, bytes]:
    """The status line and body of the response, read until the server closes."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


@pytest.mark.parametrize("server", SERVERS)
def test_serve_stops_promptly_with_a_client_that_stalls(tmp_path: Path, server: str) -> None:
    """A stop lets a request still coming finish, and cuts a body that stalls after the grace,
    and a connection stuck in its request head soon after (a read timeout of an hour would
    otherwise hold the stop up)."""
    serve = ("--server", server, "--api", "finx", "--read-timeout", "3600")
    with mock_process(tmp_path, *serve) as mock:
        body = orjson.dumps(finx_body())
        finishing = _stalled(mock.url, "/v1/kyc", body[:10])
        stalled = _stalled(mock.url, "/v1/kyc", body[:10])
        half_head = socket.create_connection(stalled.getpeername(), timeout=STOP_TIMEOUT_S)
        half_head.sendall(b"POST /v1/kyc HTTP/1.1\r\nHost: mock\r\nAuthoriz")
        assert httpx.get(f"{mock.url}/__mock/health", timeout=30).status_code == 200
        os.killpg(mock.process.pid, signal.SIGTERM)
        finishing.sendall(body[10:] + b" " * (1000 - len(body)))
        with finishing, stalled, half_head:
            assert _response(finishing)[0] == b"HTTP/1.1 200 OK"  # FinX answers a create 200
            status, refused = _response(stalled)
        assert mock.process.wait(timeout=STOP_TIMEOUT_S) == 0
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert orjson.loads(refused)["error"]["message"] == errors.BODY_CUT_BY_STOP.format(
        seconds=f"{STOP_GRACE_S:g}"
    )


@pytest.mark.parametrize("server", SERVERS)
def test_serve_read_timeout_ends_stalled_bodies_and_idle_connections(
    tmp_path: Path, server: str
) -> None:
    with mock_process(tmp_path, "--server", server, "--api", "finx", "--read-timeout", "1") as mock:
        with _stalled(mock.url, "/v1/kyc", b"{") as stalled:
            status, refused = _response(stalled)
        assert status == b"HTTP/1.1 408 Request Timeout"
        assert orjson.loads(refused)["error"]["message"] == errors.BODY_TIMED_OUT.format(
            seconds="1"
        )
        host, port = mock.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=STOP_TIMEOUT_S) as idle:
            idle.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: mock\r\n\r\n")
            answer = http.client.HTTPResponse(idle)
            answer.begin()
            assert (answer.status, answer.will_close) == (200, False)
            answer.read()
            assert idle.recv(65536) == b""  # closed by the server, not by the bound here
