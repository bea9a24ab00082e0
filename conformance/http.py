"""An HTTP client that keeps a transcript, so every verdict can show its request sequence."""

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from conformance.limits import (
    CUT_OFF,
    NO_ANSWER,
    ResponseTooSlow,
    ResponseUnbounded,
    check_declared_length,
    read_bounded,
)
from conformance.results import Exchange, dumps
from conformance.target import Target
from conformance.watch import LIMIT

# Errors after which the server may be gone (`ServerWatch.note_lost` probes it).
LOST = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.NetworkError)


class TranscriptClient:
    """Sends requests to a target and records each exchange; never raises on transport errors.

    A timeout, a reset connection or an unreachable server becomes an `Exchange` with `error`
    set, so the check that sent it can fail with a clear message instead of a traceback. Every
    body is read within the target's limits (`conformance.limits`), and the target's
    `ServerWatch` learns of hanging operations and a stopped server: a request it rules out is
    not sent, and comes back at once with the reason as its error (and `outage` set).
    """

    def __init__(self, target: Target, *, transport: httpx.BaseTransport | None = None):
        self.target = target
        self.exchanges: list[Exchange] = []
        self._client = httpx.Client(timeout=target.timeout, transport=transport)

    def __enter__(self) -> "TranscriptClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str | None] | None = None,
        params: Mapping[str, Any] | tuple[tuple[str, str], ...] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        absolute: bool = False,
        media_type: str = "application/json",
    ) -> Exchange:
        """Send one request; `path` is relative to the target's base URL unless `absolute`.

        A header given as None is not sent at all, not even httpx's default (`User-Agent`), so
        a check can show that a server refuses a request without it. `content` is a body sent
        as it is (its `Content-Type` among the headers); `params` may repeat a name as pairs.
        A `json` body goes out as `media_type` (`application/merge-patch+json`, say).
        """
        url = path if absolute else self.target.url(path)
        if json is not None:
            content = dumps(json)
        omitted = [name for name, value in (headers or {}).items() if value is None]
        sent_headers = {k: v for k, v in (headers or {}).items() if v is not None}
        if json is not None:
            sent_headers.setdefault("Content-Type", media_type)
        request = self._client.build_request(
            method,
            url,
            headers=sent_headers,
            params=params,
            content=content,
            data=data,
            files=files,
        )
        for name in omitted:
            request.headers.pop(name, None)
        body = request.read() if request.stream is not None else None
        sent = Exchange(
            method=method,
            url=str(request.url),
            request_headers=dict(request.headers),
            request_body=body,
            credential=self.target.placeholder(request.headers),
            masks=self.target.masks(),
        )
        exchange = self._exchange(request, sent)
        self.exchanges.append(exchange)
        return exchange

    def _exchange(self, request: httpx.Request, sent: Exchange) -> Exchange:
        target, watch = self.target, self.target.watch
        operation = target.operation(sent.method, sent.url)
        refused = watch.refusal(operation)
        if refused is not None:
            return replace(sent, outage=refused[0], error=refused[1])
        watch.sent += 1
        started = time.monotonic()
        answered = sent
        try:
            response = self._client.send(request, stream=True)
            try:
                answered = replace(
                    sent, status=response.status_code, response_headers=dict(response.headers)
                )
                check_declared_length(response.headers, target.max_response_bytes)
                body = read_bounded(
                    response.iter_bytes(),
                    max_bytes=target.max_response_bytes,
                    started=started,
                    timeout_s=target.timeout,
                )
            finally:
                response.close()
        except ResponseUnbounded as exc:
            error = CUT_OFF.format(kind=type(exc).__name__, status=answered.status, reason=exc)
            cut = replace(
                answered,
                status=None,
                cut_status=answered.status,
                error=error,
                outage=LIMIT,
                response_body=exc.prefix,
                elapsed_ms=_ms(started),
            )
            watch.note_unbounded(operation, cut, hangs=isinstance(exc, ResponseTooSlow))
            return cut
        except httpx.HTTPError as exc:  # no answer, or its body stopped half-way
            kind = type(exc).__name__
            hangs = isinstance(exc, httpx.TimeoutException) and not isinstance(
                exc, httpx.ConnectTimeout
            )
            error = (
                NO_ANSWER.format(kind=kind, timeout=target.timeout) if hangs else f"{kind}: {exc}"
            )
            failed = replace(answered, status=None, error=error, elapsed_ms=_ms(started))
            return watch.after_failure(operation, failed, hangs=hangs, lost=isinstance(exc, LOST))
        return replace(answered, response_body=body, elapsed_ms=_ms(started))

    def take(self) -> tuple[Exchange, ...]:
        """The exchanges since the last call, and a fresh transcript."""
        taken = tuple(self.exchanges)
        self.exchanges.clear()
        return taken


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
