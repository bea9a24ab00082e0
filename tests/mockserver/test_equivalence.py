"""The compiled fast path answers every request exactly as connexion's reference chain does.

The corpus (`tests/mockserver/corpus.py`: every request the mock server tests send, the raw-HTTP
fuzz cases included) is replayed, in order, through two fresh apps built from the same
arguments, one with `slow_path=True`; ids, clock and timings are deterministic, so any
difference in status, header lines or body bytes, or in the records left behind, is a
difference in behaviour. Apps built alike are replayed on one pair, reset between recordings.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from connexion.middleware.routing import RoutingMiddleware
from starlette.testclient import TestClient

from mockserver.app import create_app
from tests.mockserver.corpus import CORPUS, Answer, answer, build, deterministic, load, run

SHOWN_MISMATCHES = 10


def _shown(request: dict[str, Any], slow: Answer, fast: Answer) -> str:
    scope = request["scope"]
    return (
        f"{scope['method']} {scope['path']}: slow {slow.status} {slow.headers} "
        f"{slow.body[:300]!r} / fast {fast.status} {fast.headers} {fast.body[:300]!r}"
    )


def _records(app: Any) -> str:
    return json.dumps([r.to_json() for r in app.server.export()], sort_keys=True, default=str)


async def _replay(groups: dict[str, list[dict[str, Any]]]) -> tuple[int, list[str]]:
    compared = 0
    mismatches: list[str] = []
    with deterministic() as reset:
        for entries in groups.values():
            arguments = entries[0]["arguments"]
            reset(0)
            slow = build(arguments, slow_path=True)
            reset(0)
            fast = build(arguments, slow_path=False)
            for entry in entries:
                reset(0)
                slow.server.reset()
                reset(0)
                fast.server.reset()
                for number, request in enumerate(entry["requests"]):
                    reset(number)
                    expected = await answer(slow, request)
                    reset(number)
                    got = await answer(fast, request)
                    compared += 1
                    if got != expected:
                        mismatches.append(_shown(request, expected, got))
                if _records(slow) != _records(fast):
                    mismatches.append(f"records differ after {len(entry['requests'])} requests")
    return compared, mismatches


def test_fast_path_answers_as_the_reference_chain() -> None:
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in load():
        specs_dir = entry["arguments"]["specs_dir"]
        if specs_dir is not None and not Path(specs_dir).is_dir():
            continue  # a test's temporary specs, gone since the recording
        groups.setdefault(json.dumps(entry["arguments"], sort_keys=True), []).append(entry)
    compared, mismatches = run(_replay(groups))
    print(f"{compared} requests compared from {CORPUS.name}, {len(mismatches)} differ")
    assert compared > 1000
    assert not mismatches, "\n".join(mismatches[:SHOWN_MISMATCHES])


@pytest.mark.parametrize(("slow_path", "routed"), [(False, 0), (True, 1)])
def test_an_operation_skips_connexion_routing_on_the_fast_path(
    monkeypatch: pytest.MonkeyPatch, slow_path: bool, routed: int
) -> None:
    calls: list[str] = []
    original = RoutingMiddleware.__call__

    async def counting(self: RoutingMiddleware, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(RoutingMiddleware, "__call__", counting)
    client = TestClient(create_app(api="finx", slow_path=slow_path))
    response = client.get("/v1/kyc", headers={"Authorization": "Bearer test_a"})
    assert response.status_code == 200, response.text
    assert len(calls) == routed
    assert client.get("/v1/nowhere").status_code == 404  # not an operation: the reference chain
    assert len(calls) == routed + 1
