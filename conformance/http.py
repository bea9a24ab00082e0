"""An HTTP client that keeps a transcript, so every verdict can show its request sequence."""

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from conformance.results import Exchange, dumps
from conformance.target import Target


class TranscriptClient:
    """Sends requests to a target and records each exchange; never raises on transport errors.

    A timeout, a reset connection or an unreachable server becomes an `Exchange` with `error`
    set, so the check that sent it can fail with a clear message instead of a traceback.
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
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        absolute: bool = False,
    ) -> Exchange:
        """Send one request; `path` is relative to the target's base URL unless `absolute`.

        A header given as None is not sent at all, not even httpx's default (`User-Agent`), so
        a check can show that a server refuses a request without it.
        """
        url = path if absolute else self.target.url(path)
        content = dumps(json) if json is not None else None
        omitted = [name for name, value in (headers or {}).items() if value is None]
        sent_headers = {k: v for k, v in (headers or {}).items() if v is not None}
        if content is not None:
            sent_headers.setdefault("Content-Type", "application/json")
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
        )
        started = time.perf_counter()
        try:
            response = self._client.send(request)
            exchange = replace(
                sent,
                status=response.status_code,
                response_headers=dict(response.headers),
                response_body=response.content,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        except httpx.HTTPError as exc:
            exchange = replace(
                sent,
                error=f"{type(exc).__name__}: {exc}",
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        self.exchanges.append(exchange)
        return exchange

    def take(self) -> tuple[Exchange, ...]:
        """The exchanges since the last call, and a fresh transcript."""
        taken = tuple(self.exchanges)
        self.exchanges.clear()
        return taken
