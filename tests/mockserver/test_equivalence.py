"""The compiled fast path answers every request exactly as connexion's reference chain does.

The corpus (`tests/mockserver/corpus.py`: every request the mock server tests send, the raw-HTTP
fuzz cases included) is replayed, in order, through two fresh apps built from the same
arguments, one with `slow_path=True`; ids, clock and timings are deterministic, so any
difference in status, header lines or body bytes, or in the records left behind, is a
difference in behaviour. Apps built alike are replayed on one pair, reset between recordings.
"""

import json
from typing import Any

import pytest
from connexion.middleware.routing import RoutingMiddleware
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from kycspec.loader import load_all
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.mockserver.corpus import CORPUS, Answer, answer, build, deterministic, load, run
from tests.mockserver.httpfuzz import requests
from tests.mockserver.rawhttp import exchange

SHOWN_MISMATCHES = 10
SPECS = load_all()


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


HUNT_SAMPLE = 60
HUNT_SLOW = 3_000


def _ids(app: Any) -> list[str]:
    """The ids of the records the app holds, so that fuzzed paths sometimes name one."""
    found = set()
    for record in app.server.export():
        resource = SPECS[record.api].resources[record.resource]
        found.add(str(record.record.get(resource.id_field)))
    return sorted(found)


def _hunt(name: str, cases: int) -> tuple[int, list[str]]:
    """Raw-HTTP fuzz cases (`httpfuzz`, a seed of their own) sent to two live servers, one on
    each path, with ids and clock made deterministic: the answers must match but for `Date`
    and the server's own address."""
    spec = SPECS[name]
    mismatches: list[str] = []
    count = 0
    with deterministic() as reset:
        slow_app = create_app(slow_path=True)
    with (
        deterministic() as reset,
        serve_in_thread(slow_app) as slow_url,
        serve_in_thread(create_app()) as fast_url,
    ):
        servers = [url.removeprefix("http://").rsplit(":", 1) for url in (slow_url, fast_url)]

        @settings(
            max_examples=cases,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def one_case(data: st.DataObject) -> None:
            nonlocal count
            target = data.draw(requests(spec, f"/{name}", lambda: _ids(slow_app)))
            answers = []
            for host, port in servers:
                reset(count)
                got = exchange(host, int(port), target.request)
                # a redirect names the server's own address
                fields = {
                    k: v.replace(f"{host}:{port}", "<server>") for k, v in got.headers.items()
                }
                fields.pop("date", None)
                answers.append((got.status, fields, got.body))
            slow, fast = answers
            if slow != fast:
                mismatches.append(f"{target.request.to_bytes()[:400]!r}: slow {slow} / fast {fast}")
            count += 1

        one_case()
    return count, mismatches


@pytest.mark.parametrize("name", sorted(SPECS))
def test_fuzzed_requests_answer_alike_on_both_paths(name: str) -> None:
    count, mismatches = _hunt(name, HUNT_SAMPLE)
    assert count >= HUNT_SAMPLE
    assert not mismatches, "\n".join(mismatches[:SHOWN_MISMATCHES])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SPECS))
def test_fuzzed_requests_answer_alike_on_both_paths_at_length(name: str) -> None:
    count, mismatches = _hunt(name, HUNT_SLOW)
    print(f"\n{name}: {count} fuzz cases, {len(mismatches)} answered differently")
    assert not mismatches, "\n".join(mismatches[:SHOWN_MISMATCHES])
