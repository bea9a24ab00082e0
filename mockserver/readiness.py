"""Waiting until a mock is ready: polling its health endpoint (`GET /__mock/health`)."""

import time
from collections.abc import Callable

import httpx

HEALTH_PATH = "/__mock/health"
POLL_INTERVAL_S = 0.05
NOT_READY = "{url} was not ready within {timeout:g} s ({last})"
NO_ANSWER = "no answer yet"


class NotReady(Exception):
    """The mock did not report ready in time, or `still_starting` said to give up."""


def health_url(url: str) -> str:
    """The health endpoint of the mock at `url` (its root URL, or the health URL itself)."""
    url = url.rstrip("/")
    return url if url.endswith(HEALTH_PATH) else url + HEALTH_PATH


def wait_ready(
    url: str, timeout: float, still_starting: Callable[[], str | None] = lambda: None
) -> None:
    """Return once `GET <url>/__mock/health` answers 200; raise `NotReady` after `timeout` s.

    `still_starting` is asked between attempts; a message from it (the server process exited,
    say) ends the wait at once with that message.
    """
    target = health_url(url)
    deadline = time.monotonic() + timeout
    last = NO_ANSWER
    with httpx.Client(trust_env=False) as client:
        while True:
            left = deadline - time.monotonic()
            try:
                response = client.get(target, timeout=max(0.1, min(1.0, left)))
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            gave_up = still_starting()
            if gave_up is not None:
                raise NotReady(gave_up)
            if time.monotonic() + POLL_INTERVAL_S > deadline:
                raise NotReady(NOT_READY.format(url=target, timeout=timeout, last=last))
            time.sleep(POLL_INTERVAL_S)
