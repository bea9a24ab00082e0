"""`mockserver serve` on each HTTP server it offers (`--server granian`, the default, and
`--server uvicorn`), as real processes: the banner once ready, a graceful stop on SIGTERM and
on CTRL-C (SIGINT) that runs the app's shutdown, and several workers on one Redis store."""

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.httpserver import DEFAULT_SERVER, GRANIAN, SERVERS, UVICORN
from mockserver.testing import WebhookReceiver
from tests.mockprocess import mock_process
from tests.mockserver.conftest import FINX, bearer, finx_body
from tests.redisserver import flush

BANNER = "kyc-contracts mock, ready in"
REDIS_DATABASE = 13  # of the session's Redis; other modules use other numbers
CREATES = 8
WORKERS_STARTUP_TIMEOUT_S = 180.0


def _create(url: str, sandbox: str, count: int, root: str = FINX) -> set[str]:
    with httpx.Client(base_url=url, timeout=30) as http:
        return {
            http.post(f"{root}/kyc", headers=bearer(f"test_{sandbox}"), data=finx_body()).json()[
                "id"
            ]
            for _ in range(count)
        }


def _listed(url: str, sandbox: str) -> set[str]:
    response = httpx.get(f"{url}{FINX}/kyc", headers=bearer(f"test_{sandbox}"), timeout=30)
    assert response.status_code == 200, response.text
    return {record["id"] for record in response.json()["data"]}


def _created(event: Any) -> bool:
    return bool(event["type"] == "kyc_record.created")


def test_granian_is_the_default() -> None:
    assert DEFAULT_SERVER == GRANIAN


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_gracefully_and_saves_its_state(
    tmp_path: Path, server: str, stop: signal.Signals
) -> None:
    """A stop signal (a service manager's SIGTERM, CTRL-C's SIGINT to the terminal's process
    group) runs the app's shutdown: the file store is saved, so a restart has every record."""
    store = f"file://{tmp_path / 'state.json'}"
    with mock_process(tmp_path, "--server", server, "--store", store) as first:
        created = _create(first.url, "graceful", 3)
        os.killpg(first.process.pid, stop)
        assert first.process.wait(timeout=30) == 0
        output = first.output.read_text()
    assert output.count(BANNER) == 1, output
    assert "Traceback" not in output, output
    with mock_process(tmp_path, "--server", server, "--store", store) as second:
        assert _listed(second.url, "graceful") == created


# uvicorn's workers are spawned (each imports everything and builds its app from nothing), which on
# a busy 2-CPU box can outlast any start-up timeout: the long runs check them.
@pytest.mark.parametrize("server", [GRANIAN, pytest.param(UVICORN, marks=pytest.mark.slow)])
def test_serve_workers_on_redis_deliver_each_webhook_once(
    redis_url: str, tmp_path: Path, server: str
) -> None:
    url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DATABASE}"
    flush(url)
    with WebhookReceiver() as receiver:
        serve = ("--server", server, "--store", url, "--workers", "2", "--api", "finx")
        serve += ("--webhook-url", receiver.url)
        with mock_process(tmp_path, *serve, timeout=WORKERS_STARTUP_TIMEOUT_S) as mock:
            created = _create(mock.url, "workers", CREATES, root="/v1")
            events = receiver.wait_for(_created, count=CREATES)
            assert {event["data"]["object"]["id"] for event in events} == created
            mock.stop()
        delivered = [event["id"] for event in receiver.events]
        assert len(delivered) == len(set(delivered))  # no event twice
