"""Running the mock with a webhook receiver, for the webhook tests."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from mockserver.app import create_app
from mockserver.outbox import RetryPolicy
from mockserver.store import Store
from mockserver.testing import WebhookReceiver, serve_in_thread
from tests.mockserver.conftest import CONTROL

# Retries in milliseconds, so a subscriber that fails twice is delivered to at once.
FAST = RetryPolicy(base_delay_s=0.01, max_delay_s=0.05, max_attempts=4, timeout_s=2.0)
POLL_S = 0.02
WAIT_S = 10.0
NOT_REACHED = "the condition did not hold within {timeout} s; last value: {value!r}"


@contextmanager
def fast_mock(
    *, store: Store | None = None, retry: RetryPolicy = FAST, poll_s: float = POLL_S
) -> Iterator[str]:
    """A live mock whose webhook retries take milliseconds; yields its URL."""
    app = create_app(store=store, webhook_retry=retry, webhook_poll_s=poll_s)
    with serve_in_thread(app) as url:
        yield url


def subscribe(url: str, sandbox: str, target: str, events: list[str] | None = None) -> Any:
    body: dict[str, Any] = {"url": target}
    if events is not None:
        body["events"] = events
    response = httpx.post(f"{url}{CONTROL}/webhooks/{sandbox}/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def settings(url: str, sandbox: str) -> Any:
    response = httpx.get(f"{url}{CONTROL}/webhooks/{sandbox}")
    assert response.status_code == 200, response.text
    return response.json()


def listen(url: str, sandbox: str, receiver: WebhookReceiver, **kwargs: Any) -> None:
    """Subscribe the receiver to the sandbox, with the sandbox's signing secret."""
    receiver.secret = settings(url, sandbox)["secret"]
    subscribe(url, sandbox, receiver.url, **kwargs)


def deliveries(url: str, sandbox: str) -> list[Any]:
    response = httpx.get(f"{url}{CONTROL}/webhooks/{sandbox}/deliveries")
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def eventually(check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """The first truthy value of `check()`, polled until `timeout` s have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(NOT_REACHED.format(timeout=timeout, value=value))
        time.sleep(0.02)


def settled(url: str, sandbox: str, count: int) -> list[Any]:
    """The sandbox's deliveries once `count` of them exist and none is pending."""

    def done() -> list[Any]:
        found = deliveries(url, sandbox)
        finished = len(found) >= count and all(d["state"] != "pending" for d in found)
        return found if finished else []

    return list(eventually(done))
