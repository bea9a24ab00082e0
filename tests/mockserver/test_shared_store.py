"""Real processes on real stores: restarts (kill -9 included) and two mocks on one Redis."""

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app
from mockserver.redisstore import RedisStore
from tests.mockprocess import MockProcess, mock_process
from tests.mockserver.conftest import CONTROL, FINX, KONTORION, bearer, finx_body, kontorion_body
from tests.redisserver import flush, running_redis

SAVED_TIMEOUT_S = 30.0
CONFLICTS_PER_RECORD = 32
CONTESTED_RECORDS = 4
CREATES = 96
WORKERS_STARTUP_TIMEOUT_S = 180.0


def _create_finx(url: str, sandbox: str, count: int) -> list[dict[str, Any]]:
    with httpx.Client(base_url=url, timeout=30) as http:
        return [
            http.post(
                f"{FINX}/kyc",
                headers=bearer(f"test_{sandbox}"),
                data=finx_body(document_number=f"{sandbox}-{n}"),
            ).json()
            for n in range(count)
        ]


def _list_all(url: str, path: str, token: str, page: str = "starting_after") -> list[Any]:
    """Every record of a list, following its pages (FinX `starting_after`, else a cursor)."""
    records: list[Any] = []
    params: dict[str, Any] = {"limit": 50}
    with httpx.Client(base_url=url, timeout=30) as http:
        while True:
            response = http.get(path, headers=bearer(token), params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            records += body["data"]
            if not body["has_more"]:
                return records
            params[page] = (
                body["data"][-1]["id"] if page == "starting_after" else body["next_cursor"]
            )


def _clock(url: str, sandbox: str) -> dict[str, Any]:
    response = httpx.get(f"{url}{CONTROL}/sandboxes/{sandbox}/clock", timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _freeze_clock(url: str, sandbox: str, now: str) -> None:
    response = httpx.put(
        f"{url}{CONTROL}/sandboxes/{sandbox}/clock", json={"now": now, "frozen": True}, timeout=30
    )
    assert response.status_code == 200, response.text


def _wait_until_saved(path: Path, ids: list[str]) -> None:
    """Poll the store file until it holds every id (the save runs about a second later)."""
    deadline = time.monotonic() + SAVED_TIMEOUT_S
    while True:
        text = path.read_text() if path.exists() else ""
        if text and all(record_id in text for record_id in ids):
            json.loads(text)  # a complete document, never a torn one
            return
        assert time.monotonic() < deadline, f"{path} lacks records after {SAVED_TIMEOUT_S} s"
        time.sleep(0.1)


# -- file:// -------------------------------------------------------------------------------


def test_file_store_keeps_every_record_and_clock_through_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = f"file://{state}"
    with mock_process(tmp_path, "--store", store) as first:
        # the clock first: the save that holds the last record holds every earlier change
        _freeze_clock(first.url, "persist", "2024-01-15T10:30:00Z")
        created = _create_finx(first.url, "persist", 25)
        docs = _list_all(first.url, f"{FINX}/kyc", "test_docs")
        before = _list_all(first.url, f"{FINX}/kyc", "test_persist")
        _wait_until_saved(state, [r["id"] for r in created])
        first.kill()
    with mock_process(tmp_path, "--store", store) as second:
        after = _list_all(second.url, f"{FINX}/kyc", "test_persist")
        assert after == before  # every record, unchanged, in the same order
        assert sorted(r["id"] for r in after) == sorted(r["id"] for r in created)
        assert _list_all(second.url, f"{FINX}/kyc", "test_docs") == docs  # loaded once only
        clock = _clock(second.url, "persist")
        assert clock["frozen"] is True
        assert clock["now"].startswith("2024-01-15T10:30:00")


def test_file_store_saves_at_a_graceful_shutdown(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = f"file://{state}"
    with mock_process(tmp_path, "--store", store) as first:
        created = _create_finx(first.url, "graceful", 5)
        first.stop()  # uvicorn shuts down, then exits by the signal it got
    with mock_process(tmp_path, "--store", store) as second:
        listed = _list_all(second.url, f"{FINX}/kyc", "test_graceful")
        assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in created)


# -- redis:// ------------------------------------------------------------------------------


def _database(redis_url: str, number: int) -> str:
    """The URL of another database of the same Redis, emptied (one per test that restarts)."""
    url = f"{redis_url.rsplit('/', 1)[0]}/{number}"
    flush(url)
    return url


@pytest.fixture(scope="module")
def two_mocks(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[MockProcess, MockProcess]]:
    """Two mock processes on one Redis database, for the module (each test its own sandbox)."""
    url = _database(redis_url, 1)
    directory = tmp_path_factory.mktemp("two-mocks")
    with (
        mock_process(directory, "--store", url) as one,
        mock_process(directory, "--store", url) as two,
    ):
        yield one, two


def test_redis_store_create_on_one_process_reads_on_the_other(
    two_mocks: tuple[MockProcess, MockProcess],
) -> None:
    one, two = two_mocks
    with httpx.Client(timeout=30) as http:
        for writer, reader in ((one, two), (two, one)):
            created = http.post(
                f"{writer.url}{FINX}/kyc", headers=bearer("test_shared"), data=finx_body()
            ).json()
            read = http.get(
                f"{reader.url}{FINX}/kyc/{created['id']}", headers=bearer("test_shared")
            )
            assert read.status_code == 200, read.text
            assert read.json() == created
    assert _list_all(one.url, f"{FINX}/kyc", "test_shared") == _list_all(
        two.url, f"{FINX}/kyc", "test_shared"
    )
    # the start-up fixtures were loaded by one process only
    assert _list_all(one.url, f"{FINX}/kyc", "test_docs") == _list_all(
        two.url, f"{FINX}/kyc", "test_docs"
    )


def test_redis_store_reset_clock_and_request_log_are_shared(
    two_mocks: tuple[MockProcess, MockProcess],
) -> None:
    one, two = two_mocks
    created = _create_finx(one.url, "ctl", 3)
    _freeze_clock(one.url, "ctl", "2024-01-15T10:30:00Z")
    clock = _clock(two.url, "ctl")
    assert clock["frozen"] is True
    assert clock["now"].startswith("2024-01-15T10:30:00")
    response = httpx.post(f"{two.url}{CONTROL}/sandboxes/ctl/clock/advance", json={"seconds": 60})
    assert response.json()["now"].startswith("2024-01-15T10:31:00")
    assert _clock(one.url, "ctl")["now"].startswith("2024-01-15T10:31:00")
    assert _logged_methods(two.url, "ctl", len(created)) == ["POST"] * len(created)
    assert httpx.post(f"{two.url}{CONTROL}/sandboxes/ctl/reset").status_code == 204
    assert _list_all(one.url, f"{FINX}/kyc", "test_ctl") == []
    assert _clock(one.url, "ctl")["frozen"] is False


def _logged_methods(url: str, sandbox: str, expected: int) -> list[str]:
    """The methods of the sandbox's logged requests, once `expected` are there (an entry is
    written just after its response is sent, so it may land a moment after the client has it).
    """
    deadline = time.monotonic() + SAVED_TIMEOUT_S
    while True:
        params = {"sandbox": sandbox}
        logged = httpx.get(f"{url}{CONTROL}/requests", params=params).json()["data"]
        if len(logged) >= expected or time.monotonic() > deadline:
            return [entry["method"] for entry in logged]
        time.sleep(0.05)


async def _contest(urls: list[str], record_ids: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Move each record to a terminal state from both processes at once, many times over."""
    outcomes: dict[str, list[tuple[int, str]]] = {rid: [] for rid in record_ids}
    limits = httpx.Limits(max_connections=256)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def move(record_id: str, n: int) -> None:
            target = ("failed", "expired")[n % 2]
            response = await http.patch(
                f"{urls[n % len(urls)]}{KONTORION}/customer-verifications/{record_id}/status",
                headers=bearer("admin_race"),
                json={"status": target},
            )
            outcomes[record_id].append((response.status_code, target))

        await asyncio.gather(
            *(move(rid, n) for rid in record_ids for n in range(CONFLICTS_PER_RECORD))
        )
    return outcomes


def test_redis_store_conflicting_transitions_across_processes_have_one_winner(
    two_mocks: tuple[MockProcess, MockProcess],
) -> None:
    one, two = two_mocks
    with httpx.Client(timeout=30) as http:
        record_ids = [
            http.post(
                f"{(one, two)[n % 2].url}{KONTORION}/customer-verifications",
                headers=bearer("test_race"),
                json=kontorion_body(),
            ).json()["data"]["id"]
            for n in range(CONTESTED_RECORDS)
        ]
    outcomes = asyncio.run(_contest([one.url, two.url], record_ids))
    for record_id, results in outcomes.items():
        statuses = sorted(status for status, _ in results)
        assert statuses == [200] + [409] * (CONFLICTS_PER_RECORD - 1), results
        winner = next(target for status, target in results if status == 200)
        for mock in (one, two):
            read = httpx.get(
                f"{mock.url}{KONTORION}/customer-verifications/{record_id}",
                headers=bearer("test_race"),
            )
            assert read.json()["data"]["status"] == winner


async def _create_across(urls: list[str], finx: str = FINX) -> list[str]:
    async with httpx.AsyncClient(timeout=60) as http:

        async def create(n: int) -> str:
            response = await http.post(
                f"{urls[n % len(urls)]}{finx}/kyc",
                headers=bearer("test_many"),
                data=finx_body(document_number=f"many-{n}"),
            )
            assert response.status_code == 200, response.text
            return str(response.json()["id"])

        return await asyncio.gather(*(create(n) for n in range(CREATES)))


def test_redis_store_parallel_creates_on_two_processes_lose_and_duplicate_nothing(
    two_mocks: tuple[MockProcess, MockProcess],
) -> None:
    one, two = two_mocks
    ids = asyncio.run(_create_across([one.url, two.url]))
    assert len(set(ids)) == CREATES
    for mock in (one, two):
        listed = _list_all(mock.url, f"{FINX}/kyc", "test_many")
        assert sorted(r["id"] for r in listed) == sorted(ids)
        assert sorted(r["document_number"] for r in listed) == sorted(
            f"many-{n}" for n in range(CREATES)
        )


def test_redis_store_keeps_every_record_through_a_restart(redis_url: str, tmp_path: Path) -> None:
    url = _database(redis_url, 2)
    with mock_process(tmp_path, "--store", url) as first:
        created = _create_finx(first.url, "restart", 10)
        before = _list_all(first.url, f"{KONTORION}/customer-verifications", "test_docs", "cursor")
        first.kill()
    with mock_process(tmp_path, "--store", url) as second:
        listed = _list_all(second.url, f"{FINX}/kyc", "test_restart")
        assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in created)
        after = _list_all(second.url, f"{KONTORION}/customer-verifications", "test_docs", "cursor")
        assert after == before  # the start-up fixtures are not loaded a second time


def test_redis_store_serves_from_several_workers(redis_url: str, tmp_path: Path) -> None:
    url = _database(redis_url, 3)
    # one API at the root: each worker builds its own app, so fewer APIs start sooner
    serve = ("--store", url, "--workers", "2", "--api", "finx")
    with mock_process(tmp_path, *serve, timeout=WORKERS_STARTUP_TIMEOUT_S) as mock:
        ids = asyncio.run(_create_across([mock.url], finx="/v1"))
        listed = _list_all(mock.url, "/v1/kyc", "test_many")
        assert sorted(r["id"] for r in listed) == sorted(ids)


def test_redis_store_lost_answers_503_in_the_vendor_envelope(tmp_path: Path) -> None:
    with running_redis(tmp_path) as url:
        store = RedisStore(url)
        app = create_app(store=store)
        client = TestClient(app, raise_server_exceptions=False)
        assert client.get(f"{FINX}/kyc", headers=bearer("test_lost")).status_code == 200
    # redis-server has stopped
    response = client.get(f"{FINX}/kyc", headers=bearer("test_lost"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert errors.STORE_UNAVAILABLE in response.text
    clock = client.get(f"{CONTROL}/sandboxes/lost/clock")
    assert clock.status_code == 503
    assert clock.json()["detail"] == errors.STORE_UNAVAILABLE
    store.close()
