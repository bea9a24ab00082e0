"""What a run learns about how the server answers: operations that hang, a server that stopped.

One `ServerWatch` is shared by every client of a run (it travels with the `Target`), so a
lesson learnt by one layer saves the next one its time:

- an operation whose request timed out (no answer, or a body still trickling in at the
  deadline) is *hanging*: later requests to it are not sent; they fail at once with the first
  timed-out request as the reason (a hanging DELETE costs one `--timeout`, not the budget);
- a request that found no server (connection refused, or reset and a new connection refused
  too) means the server *stopped answering*: no later request is sent, and the checks left
  are errors, not failures (the suite could not check them; the server did not break them);
- every answer that broke a limit (`conformance.limits`) is kept (the first few in full) for
  the requirement that every request gets a complete, bounded answer.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from conformance.results import Exchange
    from kycspec.model import ApiSpec

HANGING = "hanging"  # Exchange.outage: the operation hangs; the request was not sent
DOWN = "down"  # Exchange.outage: the server stopped answering
# Exchange.outage: the answer broke a limit (conformance.limits): cut off, or none in time
LIMIT = "limit"
NOT_SENT_HANGING = "not sent: {operation} hangs ({first} got no answer: {error})"
NOT_SENT_DOWN = (
    "not sent: the server stopped answering {after:.1f} s into the run ({first}: {error})"
)
PROBE_TIMEOUT_S = 2.0
KEPT_EVIDENCE = 5


@dataclass
class ServerWatch:
    """The run's record of hanging operations, a stopped server and unbounded answers."""

    started: float = field(default_factory=time.monotonic)
    sent: int = 0  # requests sent so far
    hanging: dict[str, Exchange] = field(default_factory=dict)
    down: Exchange | None = None
    down_at: float | None = None  # time.monotonic() when the server was found gone
    unbounded: list[Exchange] = field(default_factory=list)  # the first few, as evidence
    unbounded_operations: dict[str, str] = field(default_factory=dict)  # operation -> error

    def refusal(self, operation: str) -> tuple[str, str] | None:
        """`(outage, error)` when a request to `operation` must not be sent, else None."""
        if self.down is not None and self.down_at is not None:
            error = NOT_SENT_DOWN.format(
                after=self.down_at - self.started,
                first=f"{self.down.method} {self.down.url}",
                error=self.down.error,
            )
            return DOWN, error
        first = self.hanging.get(operation)
        if first is not None:
            shown = f"{first.method} {first.url}"
            return HANGING, NOT_SENT_HANGING.format(
                operation=operation, first=shown, error=first.error
            )
        return None

    def note_unbounded(self, operation: str, exchange: Exchange, *, hangs: bool) -> None:
        """An answer that broke a limit; `hangs` marks the operation as hanging."""
        if hangs:
            self.hanging.setdefault(operation, exchange)
        self.unbounded_operations.setdefault(operation, exchange.error or "")
        if len(self.unbounded) < KEPT_EVIDENCE:
            self.unbounded.append(exchange)

    def after_failure(
        self, operation: str, exchange: Exchange, *, hangs: bool, lost: bool
    ) -> Exchange:
        """Learn from a request that got no complete answer; returns the exchange, marked
        `LIMIT` when it timed out, `DOWN` when the server turned out to be gone.

        `hangs`: it timed out waiting for the answer; `lost`: its connection failed (refused,
        reset, closed before an answer).
        """
        if hangs:
            exchange = replace(exchange, outage=LIMIT)
            self.note_unbounded(operation, exchange, hangs=True)
        elif lost and self.note_lost(exchange):
            return replace(exchange, outage=DOWN)
        return exchange

    def note_lost(self, exchange: Exchange) -> bool:
        """A request that lost its connection: True (and the server is down) when a fresh
        connection is refused too."""
        if self.down is not None:
            return True
        if _accepts_connections(exchange.url):
            return False
        self.down, self.down_at = exchange, time.monotonic()
        return True


def _accepts_connections(url: str) -> bool:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def operation_key(spec: ApiSpec, base_url: str, method: str, url: str) -> str:
    """The operation a request is for (`DELETE /v1/kyc/{id}`), or its method and path."""
    path = urlsplit(url).path
    base = urlsplit(base_url).path.rstrip("/")
    method = method.upper()
    for op in spec.operations.values():
        if op.method.upper() == method and _template(base + op.path).fullmatch(path):
            return f"{method} {op.path}"
    return f"{method} {path}"


_TEMPLATES: dict[str, re.Pattern[str]] = {}


def _template(path: str) -> re.Pattern[str]:
    pattern = _TEMPLATES.get(path)
    if pattern is None:
        parts = re.split(r"(\{[^}/]+\})", path)
        text = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        pattern = _TEMPLATES[path] = re.compile(text)
    return pattern
