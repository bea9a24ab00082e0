"""The delivery worker: a background task that POSTs due webhook deliveries, at least once.

It runs on the server's event loop from start-up to shutdown (`MockApp` lifespan). Each pass
claims what is due (`Outbox.claim_due`) and sends each delivery in a task of its own, so a
slow or dead subscriber holds up nothing but its own deliveries, and no request ever waits for
a delivery. A pass also moves the records whose clock transitions are due (`sweep`), so
time passing, or a clock moved on the control plane, fires their events without a request.

A 2xx answer delivers; 5xx, 408, 429, a timeout or a refused connection is retried with
exponential backoff (`RetryPolicy`); any other answer fails the delivery at once. Every
attempt is logged on the delivery (status, error, latency), shown on the control plane; one cut
off by a shutdown too (`INTERRUPTED`), without counting against the delivery's attempts: the
delivery stays pending and is sent again by the next process on the store.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from kycspec import signature
from kycspec.types import JSONObject
from mockserver.outbox import Outbox
from mockserver.store import StoreUnavailable

logger = logging.getLogger("mockserver")
POLL_INTERVAL_S = 0.5
PASS_SHARE = 4  # the pause after a pass is at least this many times the pass
RETRIED_STATUSES = frozenset({408, 429})
USER_AGENT = "kyc-contracts-mock-webhooks/1"
PASS_FAILED = "webhook delivery pass failed; the next pass tries again"
INTERRUPTED = "interrupted by shutdown"


def retried(status: int | None) -> bool:
    """Whether an attempt that got `status` (None: no answer) is worth a retry."""
    return status is None or status >= 500 or status in RETRIED_STATUSES


class DeliveryWorker:
    """Sends the outbox's deliveries; `start` and `stop` it on the event loop.

    `sweep` moves the records whose clock transitions are due (in every sandbox); `poll_s` is
    how often it looks for due work without being woken.
    """

    def __init__(
        self,
        outbox: Outbox,
        sweep: Callable[[], None],
        *,
        poll_s: float = POLL_INTERVAL_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.outbox = outbox
        self.sweep = sweep
        self.poll_s = poll_s
        self.transport = transport
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()

    def start(self) -> None:
        self._wake = asyncio.Event()
        self.outbox.wake = self._wake.set
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self.outbox.wake = lambda: None
        tasks = [t for t in (self._task, *self._sending) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    async def _run(self) -> None:
        timeout = httpx.Timeout(self.outbox.policy.timeout_s)
        async with httpx.AsyncClient(
            timeout=timeout, transport=self.transport, follow_redirects=False
        ) as client:
            while True:
                self._wake.clear()
                started = time.perf_counter()
                until_due = self.poll_s
                try:
                    until_due = self._pass(client)
                except Exception:  # a store outage, say: the worker outlives it
                    logger.warning(PASS_FAILED, exc_info=True)
                # A pass runs on the event loop; with many sandboxes to look at, the pause after
                # it grows so that passes take at most a fifth of the loop's time.
                # It wakes when the next retry is due (so a retry waits its backoff, however
                # short), else after `poll_s` to look for clock transitions and other processes.
                pause = max(
                    min(self.poll_s, until_due), PASS_SHARE * (time.perf_counter() - started)
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), pause)

    def _pass(self, client: httpx.AsyncClient) -> float:
        """Start sending what is due; returns the seconds until the next retry is due (at most
        `poll_s`)."""
        self.sweep()
        due, next_due = self.outbox.claim_due()
        for sandbox, delivery in due:
            if delivery["id"] in self._in_flight:
                continue
            self._in_flight.add(delivery["id"])
            task = asyncio.get_running_loop().create_task(self._send(client, sandbox, delivery))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        if next_due is None:
            return self.poll_s
        return min(self.poll_s, max(0.0, next_due - self.outbox.clock()))

    async def _send(self, client: httpx.AsyncClient, sandbox: str, delivery: JSONObject) -> None:
        body = delivery["body"].encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            self.outbox.signature_header(delivery["api"]): signature.sign(
                self.outbox.secret(sandbox),
                int(time.time()),
                body,
                scheme=self.outbox.signature_scheme(delivery["api"]),
            ),
        }
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(delivery["url"], content=body, headers=headers)
            status = response.status_code
        except asyncio.CancelledError:  # stopping: another pass, or process, sends it
            self.outbox.release(sandbox, delivery["id"], _attempt(started, None, INTERRUPTED))
            self._in_flight.discard(delivery["id"])
            raise
        except httpx.TimeoutException:
            error = "timeout"
        except Exception as exc:  # any failure to send (an unusable URL, say) is the attempt's
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt = _attempt(started, status, error)
        try:
            self.outbox.record_attempt(sandbox, delivery["id"], attempt, retry=retried(status))
        except StoreUnavailable:
            logger.warning(PASS_FAILED, exc_info=True)
        finally:
            self._in_flight.discard(delivery["id"])
            self._wake.set()


def _attempt(started: float, status: int | None, error: str | None) -> JSONObject:
    """The log entry of an attempt begun at `started` (`time.perf_counter()`)."""
    return {
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "status": status,
        "ok": status is not None and 200 <= status < 300,
        "error": error,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }
