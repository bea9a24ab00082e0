"""A webhook receiver for tests: a small HTTP server on a free 127.0.0.1 port that verifies each
delivery's signature (`kycspec.signature`) and collects the events.

    with WebhookReceiver(secret=secret) as receiver:
        ...  # register receiver.url, then cause an event
        (event,) = receiver.wait_for(lambda e: e["type"] == "customer_verification.verified")

It answers a verified delivery `200`, one whose signature does not verify `400` (a receiver
must refuse it), and `fail_next(n)` makes it answer the next `n` deliveries with a 5xx, to see
retries. Without a secret it answers every delivery `200`, unverified. Every delivery is kept
in `received`, in arrival order.
"""

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from kycspec import signature
from kycspec.types import JSON

WAIT_TIMEOUT_S = 5.0
TIMED_OUT = "no webhook event matched within {timeout} s; received {count}: {types}"
NO_SIGNATURE = "no signature header (t=<unix seconds>,v1=<hex>) on the delivery"
NO_SECRET = "the receiver has no secret to verify with"
NOT_JSON = "the body is not JSON"
_SIGNED = re.compile(r"(^|,)\s*t=\d+\s*,")


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver got: what came, and what it answered.

    `payload` is the parsed body (None when not JSON); `problem` says why it was refused
    (None when verified); `answered` is the status it replied with; `at` is Unix time.
    """

    path: str
    headers: dict[str, str]
    body: bytes
    payload: JSON
    verified: bool
    problem: str | None
    answered: int
    at: float


class WebhookReceiver:
    """Receives webhooks on `url` until `stop` (or the end of its `with` block).

    `secret`: the signing secret (settable later, once the sandbox's is known; None: accept
    every delivery unverified); `header`: the signature header (None: any header holding a
    `t=...,v1=...` value); `tolerance`: how far the signature timestamp may be from now, in
    seconds; `host` and `port` (0: a free one): where it listens; `scheme`: the signature
    scheme (`kycspec.signature`), `timestamped` unless the spec says `body`.
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        header: str | None = None,
        tolerance: int = signature.DEFAULT_TOLERANCE_S,
        host: str = "127.0.0.1",
        port: int = 0,
        scheme: str = signature.TIMESTAMPED,
    ):
        self.secret = secret
        self.scheme = scheme
        self.header = header
        self.tolerance = tolerance
        self.received: list[Delivery] = []
        self._failures: list[int] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The URL to register, `http://127.0.0.1:<port>/webhooks`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/webhooks"

    def start(self) -> "WebhookReceiver":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` deliveries with `status` (verified or not), in place of any
        failures still to come; `fail_next(0)` ends them."""
        with self._changed:
            self._failures = [status] * count

    @property
    def events(self) -> list[JSON]:
        """The payloads of the deliveries it acknowledged (2xx), in arrival order; an event
        delivered again after it was acknowledged appears again."""
        with self._changed:
            return [d.payload for d in self.received if d.answered < 300]

    def wait_for(
        self,
        match: Callable[[JSON], bool] = lambda event: True,
        *,
        count: int = 1,
        timeout: float = WAIT_TIMEOUT_S,
    ) -> list[JSON]:
        """The first `count` acknowledged events that `match`, once they arrived.

        Raises `TimeoutError` listing what did arrive when they do not within `timeout` s.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [event for event in self.events if match(event)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    types = [_type(d.payload) for d in self.received]
                    raise TimeoutError(
                        TIMED_OUT.format(timeout=timeout, count=len(types), types=types)
                    )
                self._changed.wait(left)

    def clear(self) -> None:
        with self._changed:
            self.received.clear()

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        problem = self._problem(headers, body)
        try:
            payload = json.loads(body)
        except ValueError:
            payload, problem = None, problem or NOT_JSON
        with self._changed:
            refused = 400 if problem and self.secret is not None else 200
            answered = self._failures.pop(0) if self._failures else refused
            self.received.append(
                Delivery(
                    path, headers, body, payload, problem is None, problem, answered, time.time()
                )
            )
            self._changed.notify_all()
        return answered

    def _problem(self, headers: dict[str, str], body: bytes) -> str | None:
        value = self._signature(headers)
        if value is None:
            return NO_SIGNATURE
        if self.secret is None:
            return NO_SECRET
        try:
            signature.verify(
                self.secret,
                value,
                body,
                now=time.time(),
                tolerance=self.tolerance,
                scheme=self.scheme,
            )
        except signature.SignatureError as exc:
            return str(exc)
        return None

    def _signature(self, headers: dict[str, str]) -> str | None:
        lowered = {name.lower(): value for name, value in headers.items()}
        if self.header is not None:
            return lowered.get(self.header.lower())
        return next((v for v in lowered.values() if _SIGNED.search(v)), None)


def _type(payload: JSON) -> Any:
    if isinstance(payload, dict):
        return payload.get("type") or payload.get("event") or "?"
    return "?"


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver._receive(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `received`, not a log."""

    return Handler
