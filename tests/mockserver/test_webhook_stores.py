"""Webhook deliveries live in the store: they survive a restart (`file://`) and several
processes on one `redis://` store deliver each event once."""

import gc
import socket
from dataclasses import replace
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.delivery import INTERRUPTED
from mockserver.filestore import FileStore
from mockserver.redisstore import RedisStore
from mockserver.testing import WebhookReceiver
from tests.mockserver.conftest import CONTROL, KONTORION, bearer, kontorion_body
from tests.mockserver.webhookhelp import FAST, eventually, fast_mock, listen, settled, subscribe
from tests.redisserver import flush

REDIS_DATABASE = 9  # of the session's Redis; other modules use other numbers
CREATES = 12
SOCKET_TIMEOUT_S = 30.0


def _create(url: str, sandbox: str) -> str:
    response = httpx.post(
        f"{url}{KONTORION}/customer-verifications",
        json=kontorion_body(),
        headers=bearer(f"test_{sandbox}"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def test_webhooks_a_pending_delivery_survives_a_restart_on_a_file_store(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with WebhookReceiver() as receiver:
        receiver.fail_next(1000)  # down while the first process runs
        store = FileStore(path)
        with fast_mock(store=store, retry=replace(FAST, max_attempts=1000)) as url:
            listen(url, "keep", receiver)
            _create(url, "keep")
            eventually(lambda: receiver.received)
        del store
        gc.collect()  # the file store's lock goes with the store object, as at a process exit
        receiver.fail_next(0)
        first = receiver.received[0].payload
        with fast_mock(store=FileStore(path)) as url:
            (event,) = receiver.wait_for()
            assert event == first  # the same event, from the restarted process
            (delivery,) = settled(url, "keep", 1)
        assert delivery["state"] == "delivered"
        assert delivery["attempts"][-1]["status"] == 200


def test_webhooks_an_attempt_cut_off_by_shutdown_is_logged(tmp_path: Path) -> None:
    """The subscriber takes the request and never answers; the mock stops meanwhile. The attempt
    is in the delivery log, and the delivery stays pending for the next process."""
    path = tmp_path / "state.json"
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent.settimeout(SOCKET_TIMEOUT_S)
        store = FileStore(path)
        slow = replace(FAST, timeout_s=SOCKET_TIMEOUT_S)
        with fast_mock(store=store, retry=slow) as url:
            subscribe(url, "cut", f"http://127.0.0.1:{silent.getsockname()[1]}/hooks")
            _create(url, "cut")
            connection, _ = silent.accept()
            received = b""
            while b"\r\n\r\n" not in received:  # the delivery is on its way: stop now
                received += connection.recv(65536)
        connection.close()  # only once the mock has stopped, so that no answer ends the attempt
        del store
        gc.collect()  # the file store's lock goes with the store object, as at a process exit
    reopened = create_app(store=FileStore(path))  # not started: it sends nothing
    response = TestClient(reopened).get(f"{CONTROL}/webhooks/cut/deliveries")
    (delivery,) = response.json()["data"]
    assert delivery["state"] == "pending"
    (attempt,) = delivery["attempts"]
    assert (attempt["status"], attempt["ok"], attempt["error"]) == (None, False, INTERRUPTED)


def test_webhooks_two_processes_on_one_redis_deliver_each_event_once(redis_url: str) -> None:
    url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DATABASE}"
    flush(url)
    with (
        WebhookReceiver() as receiver,
        fast_mock(store=RedisStore(url)) as one,
        fast_mock(store=RedisStore(url)) as two,
    ):
        listen(one, "shared", receiver)
        created = {_create(mock, "shared") for mock in [one, two] * (CREATES // 2)}
        events = receiver.wait_for(count=CREATES)
        assert {e["data"]["id"] for e in events} == created
        settled(one, "shared", CREATES)
        assert len(receiver.received) == CREATES  # no event twice
