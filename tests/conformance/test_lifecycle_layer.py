"""The lifecycle layer passes against the mock and catches deliberately broken mocks.

Each broken variant wraps the real mock in a small ASGI middleware (rewriting responses or
dropping a query parameter) or patches one engine function; the layer must fail the named
requirement. The run ends with a mutation score line.
"""

import contextlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.layers.lifecycle import run_lifecycle
from conformance.requirements import build_catalogue
from conformance.results import Result, Verdict
from conformance.settings import Profile, Settings
from conformance.target import Target
from kycspec import load_all

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from mockserver import engine as mock_engine
    from mockserver import store as mock_store
    from mockserver.app import create_app
    from mockserver.testing import serve_in_thread

SPECS = load_all()
PASS_PROFILE = Profile("lifecycle-test", ("lifecycle",), 0, 25, 20)
MUTANT_PROFILE = Profile("lifecycle-mutants", ("lifecycle",), 0, 12, 15)
SEED = 1
ASGI = Callable[..., Any]


def run_against(url: str, api: str, profile: Profile) -> tuple[list[Result], float]:
    spec = SPECS[api]
    target = Target(
        spec,
        f"{url}/{api}{spec.base_path}",
        "test_lifecycle",
        admin_token="admin_lifecycle",
        control_url=f"{url}/__mock",
        magic=True,
        timeout=5.0,
    )
    started = time.monotonic()
    results = run_lifecycle(
        target, build_catalogue(spec), Settings(profile, seed=SEED, budget_s=60), lambda e: None
    )
    return results, time.monotonic() - started


@pytest.mark.parametrize("api", sorted(SPECS))
def test_lifecycle_layer_passes_against_the_mock(api: str) -> None:
    with serve_in_thread(create_app(validate_responses=True)) as url:
        results, took = run_against(url, api, PASS_PROFILE)
    print(f"\n{api}: lifecycle layer {took:.1f}s against the mock")
    bad = [
        f"{r.requirement.id} {r.verdict}: {r.message}"
        for r in results
        if r.verdict
        in (
            Verdict.FAILED,
            Verdict.ERROR,
        )
    ]
    assert not bad, "\n".join(bad)
    unexercised = [r.requirement.id for r in results if r.cases == 0]
    assert not unexercised, unexercised
    expected = {r.id for r in build_catalogue(SPECS[api]) if r.layer == "lifecycle"}
    assert {r.requirement.id for r in results} == expected


# -- broken variants ------------------------------------------------------------------------


def _each_dict(node: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    if isinstance(node, dict):
        change(node)
        for value in node.values():
            _each_dict(value, change)
    elif isinstance(node, list):
        for item in node:
            _each_dict(item, change)
    return node


class RewriteResponses:
    """Rewrites every JSON response body of the APIs (not the control plane)."""

    def __init__(self, app: ASGI, change: Callable[[dict[str, Any]], None]):
        self.app = app
        self.change = change

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            with contextlib.suppress(ValueError):
                body = json.dumps(_each_dict(json.loads(body), self.change)).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


class DropQuery:
    """Drops one query parameter before the mock sees it (a server ignoring it)."""

    def __init__(self, app: ASGI, name: str):
        self.app = app
        self.name = name.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            kept = [
                part
                for part in scope.get("query_string", b"").split(b"&")
                if part and part.split(b"=")[0] != self.name
            ]
            scope = {**scope, "query_string": b"&".join(kept)}
        await self.app(scope, receive, send)


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda node: node.pop(name, None) if "id" in node else None


def _stringify(name: str) -> Callable[[dict[str, Any]], None]:
    def change(node: dict[str, Any]) -> None:
        if isinstance(node.get(name), int):
            node[name] = str(node[name])

    return change


def _copy(source: str, into: str) -> Callable[[dict[str, Any]], None]:
    def change(node: dict[str, Any]) -> None:
        if source in node and into in node:
            node[into] = node[source]

    return change


def _always_more(node: dict[str, Any]) -> None:
    if "has_more" in node:
        node["has_more"] = True


def _no_delete(self: Any, record_id: str) -> Any:
    return self.get(record_id)  # answers as if deleted, keeps the record


@dataclass(frozen=True)
class Variant:
    name: str
    api: str
    caught_by: frozenset[str]
    wrap: Callable[[ASGI], ASGI] = lambda app: app
    patch: tuple[Any, str, Any] | None = None


VARIANTS = [
    Variant(
        "illegal transitions allowed",
        "finx",
        frozenset({"forbidden_transitions_refused", "terminal_states_final"}),
        patch=(mock_engine, "check_transition", lambda *args, **kwargs: None),
    ),
    Variant(
        "limit ignored", "finx", frozenset({"limit_honoured"}), lambda a: DropQuery(a, "limit")
    ),
    Variant(
        "required field dropped",
        "finx",
        frozenset({"read_after_write"}),
        lambda a: RewriteResponses(a, _drop("document_type")),
    ),
    Variant(
        "timestamp of the wrong type",
        "finx",
        frozenset({"server_fields_format"}),
        lambda a: RewriteResponses(a, _stringify("created_at")),
    ),
    Variant(
        "deleted record still readable",
        "finx",
        frozenset({"deleted_records_gone"}),
        patch=(mock_store.Collection, "delete", _no_delete),
    ),
    Variant(
        "has_more always true",
        "finx",
        frozenset({"pagination_complete"}),
        lambda a: RewriteResponses(a, _always_more),
    ),
    Variant(
        "cursor ignored (page repeated)",
        "kontorion",
        frozenset({"pagination_complete"}),
        lambda a: DropQuery(a, "cursor"),
    ),
    Variant(
        "status filter ignored",
        "finx",
        frozenset({"list_filters_exact"}),
        lambda a: DropQuery(a, "verification_status"),
    ),
    Variant(
        "updated_at never moves",
        "finx",
        frozenset({"timestamps_consistent"}),
        lambda a: RewriteResponses(a, _copy("created_at", "updated_at")),
    ),
    Variant(
        "created_at follows updated_at",
        "kontorion",
        frozenset({"timestamps_consistent"}),
        lambda a: RewriteResponses(a, _copy("updated_at", "created_at")),
    ),
    Variant(
        "guard ignored",
        "finhub",
        frozenset({"guards_enforced"}),
        patch=(
            mock_engine,
            "check_transition",
            lambda resource, source, target, op, ctx: _unguarded(resource, source, target, op),
        ),
    ),
]


def _unguarded(resource: Any, source: str, target: str, operation: str) -> Any:
    transition = resource.lifecycle.find(source, target, operation)
    if transition is None:
        raise mock_engine.errors.InvalidTransition(f"{source} -> {target} refused")
    return transition


def test_lifecycle_layer_catches_broken_mocks(monkeypatch: pytest.MonkeyPatch) -> None:
    caught = []
    lines = []
    for variant in VARIANTS:
        with monkeypatch.context() as patched:
            if variant.patch is not None:
                patched.setattr(*variant.patch)
            app = variant.wrap(create_app(validate_responses=True))
            with serve_in_thread(app) as url:
                results, took = run_against(url, variant.api, MUTANT_PROFILE)
        failed = {r.requirement.check for r in results if r.verdict == Verdict.FAILED}
        hit = sorted(failed & variant.caught_by)
        errors = [r.message for r in results if r.verdict == Verdict.ERROR]
        assert not errors, errors
        if hit:
            caught.append(variant.name)
        lines.append(f"  {variant.name} ({variant.api}, {took:.1f}s): {', '.join(hit) or 'MISSED'}")
    print("\n" + "\n".join(lines))
    print(f"mutation score: {len(caught)}/{len(VARIANTS)} variants caught")
    assert len(caught) == len(VARIANTS), lines


async def _not_json(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"<html>maintenance</html>"})


def test_lifecycle_layer_fails_cleanly_on_non_json_and_unreachable_servers() -> None:
    spec = SPECS["finx"]
    settings = Settings(MUTANT_PROFILE, seed=SEED, budget_s=30)
    with serve_in_thread(_not_json) as url:
        target = Target(spec, f"{url}/finx", "test_lifecycle", timeout=2.0)
        garbled = run_lifecycle(target, build_catalogue(spec), settings, lambda e: None)
    closed = Target(spec, url, "test_lifecycle", timeout=2.0)  # the server is gone now
    started = time.monotonic()
    unreachable = run_lifecycle(closed, build_catalogue(spec), settings, lambda e: None)
    assert time.monotonic() - started < 20
    for results in (garbled, unreachable):
        verdicts = {r.verdict for r in results}
        assert Verdict.FAILED in verdicts
        assert Verdict.ERROR not in verdicts
        assert Verdict.PASSED not in verdicts
