"""The pytest plugin that records the corpus (`tests.mockserver.corpus`): loaded with `-p`,
it wraps `create_app` at import, records each app's arguments and every request it receives,
and writes `CORPUS` when the run ends."""

import gzip
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

import mockserver.app
from mockserver.app import MockApp
from tests.mockserver.corpus import CORPUS, arguments_of, scope_record, text

_recorded: list[dict[str, Any]] = []


class _RecordingApp(MockApp):
    corpus_entry: dict[str, Any]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        messages: list[dict[str, Any]] = []
        self.corpus_entry["requests"].append(
            {"scope": scope_record(scope), "receive": messages, "ready": self.server.ready}
        )

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                messages.append(
                    {"body": text(message.get("body", b"")), "more": message.get("more_body")}
                )
            return message

        await super().__call__(scope, recording_receive, send)


def _recording(create: Callable[..., MockApp]) -> Callable[..., MockApp]:
    def create_app(*args: Any, **kwargs: Any) -> MockApp:
        app = create(*args, **kwargs)
        if args:
            kwargs["specs_dir"] = args[0]
        entry = {"arguments": arguments_of(kwargs), "requests": []}
        _recorded.append(entry)
        app.__class__ = _RecordingApp
        app.corpus_entry = entry  # type: ignore[attr-defined]
        return app

    return create_app


# At import, before any conftest or test module imports `create_app`.
mockserver.app.create_app = _recording(mockserver.app.create_app)


def pytest_unconfigure(config: pytest.Config) -> None:
    entries = [entry for entry in _recorded if entry["requests"]]
    with gzip.open(CORPUS, "wt", encoding="utf-8") as out:
        json.dump({"apps": entries}, out, separators=(",", ":"))
    requests = sum(len(entry["requests"]) for entry in entries)
    print(f"corpus: {len(entries)} apps, {requests} requests -> {CORPUS}", file=sys.stderr)
