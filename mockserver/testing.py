"""Run the mock inside a test process: uvicorn (or Granian, as `mockserver serve` runs it) on a
free local port, in a background thread, and receive its webhooks there (`WebhookReceiver`, from
`kycspec.receiver`).

It ships with the package so teams can start the mock from their own test suites:

    with serve_in_thread(create_app()) as url, WebhookReceiver() as receiver:
        httpx.get(f"{url}/finx/v1/kyc", headers={"Authorization": "Bearer test_me"})
"""

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
import uvloop
from starlette.types import ASGIApp

from kycspec.receiver import WebhookReceiver
from mockserver.httpserver import GRANIAN, UVICORN, embedded_granian
from mockserver.listen import bind, bound_port
from mockserver.readtimeout import DEFAULT_READ_TIMEOUT_S

__all__ = ["WebhookReceiver", "free_port", "serve_in_thread"]

STARTUP_TIMEOUT_S = 10.0
SERVER_DID_NOT_START = "the server did not start within {timeout} s"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    timeout: float = STARTUP_TIMEOUT_S,
    http: str = "auto",
    server: str = UVICORN,
) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL. Always shuts the server down.

    `server` is "uvicorn" or "granian" (the default of `mockserver serve`); `http` picks
    uvicorn's HTTP parser: "auto" (httptools when installed), "httptools" or "h11".
    """
    if server == GRANIAN:
        with _granian_in_thread(app, host, timeout) as url:
            yield url
        return
    port = free_port(host)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="error", access_log=False, http=http
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    try:
        _wait_started(lambda: uvicorn_server.started, thread, timeout)
        yield f"http://{host}:{port}"
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=timeout)


@contextmanager
def _granian_in_thread(app: ASGIApp, host: str, timeout: float) -> Iterator[str]:
    started = threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []
    with bind(host, 0) as sock:
        embedded = embedded_granian(app, sock, "error", started.set, DEFAULT_READ_TIMEOUT_S)

        async def run() -> None:
            loops.append(asyncio.get_running_loop())
            await embedded.serve()

        thread = threading.Thread(target=uvloop.run, args=(run(),), daemon=True)
        thread.start()
        try:
            _wait_started(started.is_set, thread, timeout)
            yield f"http://{host}:{bound_port(sock)}"
        finally:
            if loops:
                loops[0].call_soon_threadsafe(embedded.stop)
            thread.join(timeout=timeout)


def _wait_started(started: Callable[[], bool], thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not started():
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(SERVER_DID_NOT_START.format(timeout=timeout))
        time.sleep(0.01)
