"""Webhook deliveries live in the store: they survive a restart (`file://`) and several
processes on one `redis://` store deliver each event once."""

import gc
from dataclasses import replace
from pathlib import Path

import httpx

from mockserver.filestore import FileStore
from mockserver.redisstore import RedisStore
from mockserver.testing import WebhookReceiver
from tests.mockserver.conftest import KONTORION, bearer, kontorion_body
from tests.mockserver.webhookhelp import FAST, eventually, fast_mock, listen, settled
from tests.redisserver import flush

REDIS_DATABASE = 9  # of the session's Redis; other modules use other numbers
CREATES = 12


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
