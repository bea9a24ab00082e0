"""Many clients at once: nothing lost, nothing duplicated, every update applied."""

import asyncio
from typing import Any

import httpx

from tests.mockserver.conftest import FINX, KONTORION, LiveServer, bearer, finx_body, kontorion_body

SANDBOXES = [f"conc{n}" for n in range(4)]
PER_SANDBOX = 50  # 200 creates and 200 updates in all


async def _create(http: httpx.AsyncClient, sandbox: str, n: int) -> str:
    response = await http.post(
        f"{FINX}/kyc",
        headers=bearer(f"test_{sandbox}"),
        data=finx_body(document_number=f"{sandbox}-{n}"),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _update(http: httpx.AsyncClient, sandbox: str, record_id: str) -> None:
    response = await http.put(
        f"{FINX}/kyc/{record_id}",
        headers=bearer(f"test_{sandbox}"),
        json={"verification_status": "verified", "document_type": f"updated-{record_id}"},
    )
    assert response.status_code == 200, response.text


async def _list_all(http: httpx.AsyncClient, sandbox: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = await http.get(f"{FINX}/kyc", headers=bearer(f"test_{sandbox}"), params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        records += body["data"]
        if not body["has_more"]:
            return records
        params["starting_after"] = body["data"][-1]["id"]


async def _run(url: str) -> None:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        jobs = [(s, n) for n in range(PER_SANDBOX) for s in SANDBOXES]
        ids = await asyncio.gather(*(_create(http, s, n) for s, n in jobs))
        created = dict(zip(ids, jobs, strict=True))
        assert len(created) == len(jobs)
        await asyncio.gather(*(_update(http, created[i][0], i) for i in ids))
        for sandbox in SANDBOXES:
            records = await _list_all(http, sandbox)
            listed = [r["id"] for r in records]
            assert len(listed) == len(set(listed)) == PER_SANDBOX
            assert set(listed) == {i for i, (s, _) in created.items() if s == sandbox}
            for record in records:
                assert record["verification_status"] == "verified"
                assert record["document_type"] == f"updated-{record['id']}"
                assert record["document_number"].startswith(f"{sandbox}-")
            numbers = {r["document_number"] for r in records}
            assert numbers == {f"{sandbox}-{n}" for n in range(PER_SANDBOX)}


def test_concurrency_parallel_creates_and_updates_lose_nothing(live_server: LiveServer) -> None:
    asyncio.run(_run(live_server.url))


async def _kontorion_run(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def create(_: int) -> str:
            response = await http.post(
                f"{KONTORION}/customer-verifications",
                headers=bearer("test_kconc"),
                json=kontorion_body(),
            )
            assert response.status_code == 201, response.text
            return str(response.json()["data"]["id"])

        ids = await asyncio.gather(*(create(n) for n in range(60)))
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 25}
        while True:
            page = (
                await http.get(
                    f"{KONTORION}/customer-verifications",
                    headers=bearer("test_kconc"),
                    params=params,
                )
            ).json()
            seen += [item["id"] for item in page["data"]]
            if not page["has_more"]:
                break
            params["cursor"] = page["next_cursor"]
        assert sorted(seen) == sorted(ids)
        assert len(seen) == len(set(seen))


def test_concurrency_parallel_kontorion_creates_page_completely(live_server: LiveServer) -> None:
    asyncio.run(_kontorion_run(live_server.url))
