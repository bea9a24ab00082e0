"""The request corpus: every request the mock server tests send, recorded, and replayed.

Recording (`python -m tests.mockserver.corpus`) runs the mock server tests (the raw-HTTP fuzz
test included) with `corpus_recorder` as a pytest plugin: every app `create_app` builds is recorded
with the arguments it was built from, and every request it receives with its ASGI scope and the
body messages it read, in arrival order. The corpus goes to `CORPUS` (gzipped JSON).

Replaying (`replay`) builds a fresh app from the same arguments (in-memory store) and sends it
the same requests in the same order, with the ids, the clock and the request timings made
deterministic (`deterministic`), so that two apps built alike give byte-identical answers
exactly when they behave alike. `test_equivalence.py` replays the corpus through the compiled
fast path and connexion's reference chain and compares every answer.
"""

import asyncio
import atexit
import base64
import functools
import gzip
import json
import random
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import kycspec.idformat
import mockserver.app
import mockserver.clock
import mockserver.edge
import mockserver.errors
import mockserver.outbox
import mockserver.stateless
from mockserver.app import MockApp
from mockserver.fixtures import parse_fixtures
from mockserver.sandbox import TokenPolicy

CORPUS = Path(__file__).parent / "corpus.json.gz"
ROOT = Path(__file__).resolve().parents[2]
_SCOPE_KEYS = ("type", "http_version", "method", "scheme", "path", "root_path")
_BYTES_KEYS = ("raw_path", "query_string")
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def text(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _bytes(text: str) -> bytes:
    return base64.b64decode(text)


def scope_record(scope: dict[str, Any]) -> dict[str, Any]:
    found = {key: scope[key] for key in _SCOPE_KEYS if key in scope}
    found.update({key: text(scope[key]) for key in _BYTES_KEYS if scope.get(key) is not None})
    found["headers"] = [[text(name), text(value)] for name, value in scope["headers"]]
    return found


def _scope_from(record: dict[str, Any]) -> dict[str, Any]:
    scope = {key: record[key] for key in _SCOPE_KEYS if key in record}
    scope.update({key: _bytes(record[key]) for key in _BYTES_KEYS if key in record})
    scope["headers"] = [(_bytes(name), _bytes(value)) for name, value in record["headers"]]
    scope.setdefault("root_path", "")
    scope["client"] = ("127.0.0.1", 50000)
    scope["server"] = ("127.0.0.1", 8080)
    scope["asgi"] = {"version": "3.0", "spec_version": "2.3"}
    return scope


def _specs_of(specs_dir: Path | None) -> dict[str, Any]:
    """Where a replay finds the specs, in a form that holds on any checkout: a directory of the
    repository by its path from the root, anything else (a test's temporary specs) by the text
    of its files."""
    if specs_dir is None:
        return {"specs_dir": None}
    found = Path(specs_dir).resolve()
    if found.is_relative_to(ROOT):
        return {"specs_dir": found.relative_to(ROOT).as_posix()}
    files = {
        path.relative_to(found).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(found.rglob("*"))
        if path.is_file()
    }
    return {"specs_dir": None, "specs_files": files}


def _specs_dir(arguments: dict[str, Any]) -> Path | None:
    """The directory `_specs_of` described: in the repository, or written out once per set
    of files (both apps of a replay must read the same paths: a problem report names them)."""
    files = arguments.get("specs_files")
    if files is not None:
        return _written(json.dumps(files, sort_keys=True))
    relative: str | None = arguments["specs_dir"]
    return None if relative is None else ROOT / relative


@functools.cache
def _written(files: str) -> Path:
    made = Path(tempfile.mkdtemp(prefix="corpus-specs-"))
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    for name, content in json.loads(files).items():
        (made / name).parent.mkdir(parents=True, exist_ok=True)
        (made / name).write_text(content, encoding="utf-8")
    return made


def arguments_of(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The recordable `create_app` arguments (the store is left out: replays use memory)."""
    policy = kwargs.get("policy") or TokenPolicy()
    fixtures = kwargs.get("fixtures") or []
    return {
        **_specs_of(kwargs.get("specs_dir")),
        "api": kwargs.get("api"),
        "fixtures": {"records": [record.to_json() for record in fixtures]},
        "user_prefix": policy.user_prefix,
        "admin_prefix": policy.admin_prefix,
        "validate_responses": kwargs.get("validate_responses", False),
        "max_body_bytes": kwargs.get("max_body_bytes"),
        "public_url": kwargs.get("public_url", ""),
        "control_token": kwargs.get("control_token"),
    }


def build(arguments: dict[str, Any], *, slow_path: bool) -> MockApp:
    """A fresh app from recorded arguments, on an in-memory store, ready."""
    options: dict[str, Any] = {
        "api": arguments["api"],
        "fixtures": parse_fixtures(arguments["fixtures"]),
        "policy": TokenPolicy(
            user_prefix=arguments["user_prefix"], admin_prefix=arguments["admin_prefix"]
        ),
        "validate_responses": arguments["validate_responses"],
        "public_url": arguments["public_url"],
        "control_token": arguments["control_token"],
        "slow_path": slow_path,
    }
    specs_dir = _specs_dir(arguments)
    if specs_dir is not None:
        options["specs_dir"] = specs_dir
    if arguments["max_body_bytes"] is not None:
        options["max_body_bytes"] = arguments["max_body_bytes"]
    app = mockserver.app.create_app(**options)
    app.server.ready = True
    return app


# -- replaying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What an app sent back: status, header lines and body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class _Instant:
    """A clock stopped at one instant, for `datetime` and `time` alike."""

    def __init__(self) -> None:
        self.at = _EPOCH

    def now(self, tz: Any = None) -> datetime:
        return self.at

    def time(self) -> float:
        return self.at.timestamp()

    def perf_counter(self) -> float:
        return 0.0


@contextmanager
def deterministic() -> Iterator[Callable[[int], None]]:
    """Ids, clock and timings that depend only on the request number: yields `reset(n)`,
    to call before request `n` is sent to each app. Apps built inside take the webhook
    outbox's clock from here too."""
    instant = _Instant()
    rng = random.Random()

    class _DateTime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return instant.now(tz)

    async def no_sleep(seconds: float) -> None:
        return None

    def clock() -> float:
        return instant.time()

    outbox_defaults = mockserver.outbox.Outbox.__init__.__kwdefaults__ or {}

    def uuid4() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    def reset(number: int) -> None:
        rng.seed(number)
        instant.at = _EPOCH.replace(second=number % 60, minute=(number // 60) % 60)

    replaced: list[tuple[Any, str, Any]] = [
        (kycspec.idformat, "_RANDOM", rng),
        # `Prefer: dynamic=true` draws a fresh seed for a stateless answer
        (mockserver.stateless.random, "SystemRandom", lambda: rng),
        (uuid, "uuid4", uuid4),
        (mockserver.clock, "datetime", _DateTime),
        (mockserver.errors, "datetime", _DateTime),
        (mockserver.edge, "time", instant),
        (mockserver.edge, "sleep", no_sleep),
        (mockserver.outbox, "datetime", _DateTime),
        (mockserver.outbox.Outbox.__init__, "__kwdefaults__", {**outbox_defaults, "clock": clock}),
    ]
    saved = [(module, name, getattr(module, name)) for module, name, _ in replaced]
    for module, name, value in replaced:
        setattr(module, name, value)
    try:
        yield reset
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


async def answer(app: MockApp, request: dict[str, Any]) -> Answer:
    """Send one recorded request to `app`; its answer."""
    messages = [
        {
            "type": "http.request",
            "body": _bytes(message["body"]),
            "more_body": bool(message["more"]),
        }
        for message in request["receive"]
    ]
    sent: list[dict[str, Any]] = []

    if not messages or messages[-1]["more_body"]:
        # The recorded app stopped reading there (or read nothing, as for most GETs); a server
        # gives the rest of the body, here none, in a last message (uvicorn sends one even
        # for a request without a body).
        messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    app.server.ready = request["ready"]
    try:
        await app(_scope_from(request["scope"]), receive, send)
    except Exception as exc:  # what uvicorn would answer with a 500: compared by its type
        return Answer(500, (), f"raised {type(exc).__name__}".encode())
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    if start is None:
        return Answer(0, (), b"")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], tuple(tuple(pair) for pair in start["headers"]), body)


def load() -> list[dict[str, Any]]:
    """The recorded apps, each `{"arguments": ..., "requests": [...]}`."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as found:
        return list(json.load(found)["apps"])


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


if __name__ == "__main__":
    sys.exit(
        pytest.main(
            [
                "-q",
                "-p",
                "no:randomly",
                "-W",
                "ignore::pytest.PytestAssertRewriteWarning",
                "-p",
                "tests.mockserver.corpus_recorder",
                "tests/mockserver",
                "--deselect",
                "tests/mockserver/test_equivalence.py",
                *sys.argv[1:],
            ]
        )
    )
