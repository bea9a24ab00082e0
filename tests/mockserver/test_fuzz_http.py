"""Raw HTTP fuzzing of every API the mock serves, with strategies derived from its spec alone.

The mock runs under each HTTP server `mockserver serve` offers (Granian, uvicorn) on a free local
port (responses validated against the specs, so a response that breaks its schema is a 5xx
too), and each request goes out as raw bytes on its own connection (`rawhttp`), shaped by
`httpfuzz`. For every request:

1. no 5xx, and no hang; a well-formed message always gets a response;
2. every 4xx is in the API's error envelope (`x-errors`: its media type, and its body template
   with the status, its reason phrase, a code and a message). Only a message that is not
   well-formed HTTP/1.1 (`RawRequest.wire_valid`), or that the server's parser does not take
   (`RawRequest.reaches_application`), may be refused by the HTTP server before any API sees
   it, with a plain 4xx of its own;
3. a refused request (any 4xx) changes no record in any sandbox.

Every `CHECK_EVERY` cases the state must still be readable (the snapshot and every list answer
200: nothing stored breaks a later read), and every `RESET_EVERY` cases all sandboxes are reset
so the state stays small. `make test` runs `SAMPLE_CASES` per spec; `make test-slow` runs
`SLOW_CASES`. `pytest -s` prints the case count and the failures of each spec.
"""

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kycspec.expressions import Context
from kycspec.loader import load_all
from kycspec.model import ApiSpec
from mockserver.app import MockApp, create_app
from mockserver.httpserver import SERVERS
from mockserver.reasons import reason
from mockserver.testing import serve_in_thread
from tests.mockserver.httpfuzz import HOST, USER_TOKEN, Target, requests
from tests.mockserver.rawhttp import RawRequest, RawResponse, exchange

SPECS = load_all()
SAMPLE_CASES = 300
SLOW_CASES = 10_000
CHECK_EVERY = 50
RESET_EVERY = 100
CODE = "\x00code"  # placeholders for the envelope's free values
DETAIL = "\x00detail"


@dataclass
class Server:
    app: MockApp
    host: str
    port: int
    name: str  # the HTTP server: "granian" or "uvicorn"


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    app = create_app(validate_responses=True)
    with serve_in_thread(app, server=request.param) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        yield Server(app, host, int(port), request.param)


@dataclass
class Tally:
    """The outcome of one spec's run: cases sent, statuses seen, failures by kind."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def summary(self, name: str) -> str:
        kinds = Counter(failure.split(":", 1)[0] for failure in self.failures)
        spread = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return (
            f"{name}: {self.cases} cases, {len(self.failures)} failures {dict(kinds)}; "
            f"statuses {spread}"
        )


def envelope_problem(spec: ApiSpec, response: RawResponse, head: bool) -> str | None:
    """Why a 4xx response is not in the API's error envelope, or None when it is."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != spec.errors.media_type:
        return f"content type {media_type!r}, not {spec.errors.media_type!r}"
    if head:
        return None
    try:
        body = json.loads(response.body)
    except ValueError:
        return f"body is not JSON: {response.body[:200]!r}"
    expected = spec.errors.body(
        Context(
            now=datetime.now(UTC),
            values={
                "status": response.status,
                "code": CODE,
                "title": reason(response.status),  # RFC 9110's, on any Python
                "detail": DETAIL,
            },
        )
    )
    return _shape_problem(expected, body, "")


def _shape_problem(expected: Any, actual: Any, where: str) -> str | None:
    if expected in (CODE, DETAIL):
        ok = isinstance(actual, str) and bool(actual)
        return None if ok else f"{where or 'body'}: {actual!r} is not a non-empty string"
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return f"{where or 'body'}: {actual!r} does not have the keys {sorted(expected)}"
        for key, value in expected.items():
            problem = _shape_problem(value, actual[key], f"{where}.{key}")
            if problem:
                return problem
        return None
    return None if actual == expected else f"{where or 'body'}: {actual!r} != {expected!r}"


def records(app: MockApp) -> str:
    """Every record of every sandbox, as comparable text."""
    exported = [record.to_json() for record in app.server.export()]
    return json.dumps(exported, sort_keys=True, default=str)


def live_ids(app: MockApp) -> list[str]:
    """The ids of the records the sandboxes hold now (path ids that name real records)."""
    ids = []
    for record in app.server.export():
        spec = SPECS[record.api]
        ids.append(str(record.record.get(spec.resources[record.resource].id_field)))
    return sorted(set(ids))


def _valid_get(path: str, headers: list[tuple[bytes, bytes]]) -> RawRequest:
    return RawRequest(b"GET", path.encode(), ((b"Host", HOST), *headers))


def readable_problem(server: Server, spec: ApiSpec, prefix: str) -> str | None:
    """Why the state cannot be read back, or None: the snapshot and every list answer 200."""
    checks = [_valid_get("/__mock/snapshot", [])]
    for op in spec.operations.values():
        if op.role != "list":
            continue
        headers = [(b"Authorization", f"Bearer {USER_TOKEN}".encode())]
        for param in op.parameters:
            if param.get("in") == "header" and param.get("required"):
                example = str(param.get("example", "fuzz"))
                headers.append((param["name"].encode(), example.encode()))
        checks.append(_valid_get(prefix + spec.base_path + op.path, headers))
    for request in checks:
        response = exchange(server.host, server.port, request)
        if response.status != 200:
            return f"unreadable: {request.target!r} answered {response.status}"
    return None


def check_case(
    server: Server, spec: ApiSpec, target: Target, before: str, tally: Tally
) -> RawResponse | None:
    request = target.request
    op = target.operation
    aim = f"{op.operation_id if op else '-'}"
    shown = f"{aim}: {request.to_bytes()[:600]!r}"
    try:
        response = exchange(server.host, server.port, request)
    except TimeoutError:
        tally.failures.append(f"hang: {shown}")
        return None
    tally.statuses[response.status] += 1
    if response.status == 0:
        if request.reaches_application(server.name):
            tally.failures.append(f"no response: {shown}")
        return response
    if response.status >= 500:
        tally.failures.append(f"{response.status}: {shown} -> {response.body[:300]!r}")
    if 400 <= response.status < 500:
        problem = envelope_problem(spec, response, head=request.method == b"HEAD")
        if problem and request.reaches_application(server.name):
            tally.failures.append(f"envelope: {response.status} {problem}; {shown}")
        if records(server.app) != before:
            tally.failures.append(f"state changed by a {response.status}: {shown}")
    return response


def fuzz(server: Server, name: str, cases: int) -> Tally:
    spec = SPECS[name]
    prefix = f"/{name}"
    tally = Tally()

    @settings(
        max_examples=cases,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one_case(data: st.DataObject) -> None:
        if tally.cases % RESET_EVERY == 0:
            server.app.server.reset()
        target = data.draw(requests(spec, prefix, lambda: live_ids(server.app)))
        before = records(server.app)
        check_case(server, spec, target, before, tally)
        tally.cases += 1
        if tally.cases % CHECK_EVERY == 0:
            problem = readable_problem(server, spec, prefix)
            if problem:
                tally.failures.append(problem)

    one_case()
    return tally


def _run(server: Server, name: str, cases: int) -> None:
    tally = fuzz(server, name, cases)
    print("\n" + tally.summary(name))
    assert tally.cases >= cases
    assert tally.failures == [], "\n".join([tally.summary(name), *tally.failures[:20]])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_raw_http_sample(server: Server, name: str) -> None:
    _run(server, name, SAMPLE_CASES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SPECS))
def test_raw_http_slow(server: Server, name: str) -> None:
    _run(server, name, SLOW_CASES)
