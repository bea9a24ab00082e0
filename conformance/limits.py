"""Per-request limits: how long an answer may take and how large its body may be.

Every response the suite reads (through httpx in `conformance.http`, through requests for
schemathesis' cases) is read in chunks with both limits, so an endless, huge or trickling body
ends that request with an error instead of holding the runner's memory or time:

- `timeout_s` (`--timeout`, default 10 s) bounds the whole request, body included: a server
  silent for that long is cut off by the socket's read timeout, and a body still arriving after
  it (a trickle of bytes that keeps every single read within the timeout) is cut off when the
  next chunk arrives. A request therefore ends within about twice the timeout whatever the
  server does (RFC 9112 §6: a message ends where its framing says; this one never does in time).
- `max_bytes` (`--max-response-bytes`, default 8 MiB) bounds the body: a declared
  `Content-Length` beyond it is refused before reading, and a body (chunked or not) is cut off
  as soon as it passes it. KYC records and list pages are kilobytes; 8 MiB leaves room for a
  page of large records while keeping a run's memory far from a CI runner's.
"""

import time
from collections.abc import Iterable, Mapping

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
DEFAULT_WEBHOOK_WAIT_S = 15.0  # for a declared webhook to arrive, and for a retry
KEPT_PREFIX_BYTES = 2000  # how much of a cut-off body is kept as evidence
TOO_LARGE = "the response body passed {limit} bytes (--max-response-bytes) and was cut off"
DECLARED_TOO_LARGE = (
    "the response declares Content-Length {length}, more than {limit} bytes (--max-response-bytes)"
)
CUT_OFF = "{kind}: {status} response: {reason}"
TOO_SLOW = (
    "the response was not complete {timeout:g} s after the request (--timeout) and was cut off"
)
NO_ANSWER = "{kind}: no response within {timeout:g} s (--timeout)"


class ResponseUnbounded(Exception):
    """A response that broke a limit; `prefix` keeps its first bytes as evidence."""

    def __init__(self, message: str, prefix: bytes = b""):
        super().__init__(message)
        self.prefix = prefix


class ResponseTooLarge(ResponseUnbounded):
    """The body passed `max_bytes`."""


class ResponseTooSlow(ResponseUnbounded):
    """The body was still arriving at the request's deadline."""


def check_declared_length(headers: Mapping[str, str], max_bytes: int) -> None:
    """Refuse a response whose `Content-Length` already says it is too large (raises)."""
    declared = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(DECLARED_TOO_LARGE.format(length=declared.strip(), limit=max_bytes))


def read_bounded(
    chunks: Iterable[bytes], *, max_bytes: int, started: float, timeout_s: float
) -> bytes:
    """The whole body from `chunks`, or `ResponseTooLarge` / `ResponseTooSlow`.

    `started` is the request's `time.monotonic()`; the body must be complete `timeout_s` seconds
    after it. Memory stays within `max_bytes` plus one chunk.
    """
    body = bytearray()
    deadline = started + timeout_s
    for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise ResponseTooLarge(
                TOO_LARGE.format(limit=max_bytes), bytes(body[:KEPT_PREFIX_BYTES])
            )
        if time.monotonic() > deadline:
            raise ResponseTooSlow(
                TOO_SLOW.format(timeout=timeout_s), bytes(body[:KEPT_PREFIX_BYTES])
            )
    return bytes(body)
