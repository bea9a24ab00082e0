"""Run the mock inside a test process: uvicorn on a free local port, in a background thread,
and receive its webhooks there (`WebhookReceiver`, from `kycspec.receiver`).

It ships with the package so teams can start the mock from their own test suites:

    with serve_in_thread(create_app()) as url, WebhookReceiver() as receiver:
        httpx.get(f"{url}/finx/v1/kyc", headers={"Authorization": "Bearer test_me"})
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from kycspec.receiver import WebhookReceiver

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
) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL. Always shuts the server down.

    `http` picks uvicorn's HTTP parser: "auto" (httptools when installed), "httptools" or "h11".
    """
    port = free_port(host)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="error", access_log=False, http=http
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(SERVER_DID_NOT_START.format(timeout=timeout))
            time.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
