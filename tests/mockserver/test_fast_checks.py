"""The compiled operations' security and validation checks (`mockserver.fastcheck`) decide a
request as connexion's own classes do, whichever branch takes it: a credential read directly,
or connexion's check for anything else; a `Content-Type` seen before, or a new one.

Each request is sent as a raw ASGI call (header names and repeats exactly as given) to the fast
path and to the reference chain; the answers must be the same, and the status the expected one.
The corpus (`tests/mockserver/corpus.py`) records these requests too.
"""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from connexion.middleware.security import SecurityOperation
from connexion.middleware.server_error import ServerErrorMiddleware

from mockserver import errors
from mockserver.app import MockApp, create_app
from tests.mockserver.corpus import deterministic

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
Headers = list[tuple[bytes, bytes]]
BEARER = [(b"authorization", b"Bearer test_fast")]
RECORD = {
    "customer_id": "WAz8eIbvDR60rouK",
    "verification_status": "pending",
    "document_type": "passport",
    "document_number": "123456789",
}


def _send(app: MockApp, method: str, path: str, headers: Headers, body: bytes = b"") -> Any:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    fields = [(k, v) for k, v in start["headers"] if k.lower() not in (b"date", b"x-request-id")]
    return start["status"], fields, content


@pytest.fixture(scope="module")
def finx() -> tuple[MockApp, MockApp]:
    apps = create_app(api="finx"), create_app(api="finx", slow_path=True)
    for app in apps:  # connexion builds its middleware stack, and the hot path's table
        _send(app, "GET", "/v1/kyc", BEARER)
    return apps


def _alike(
    apps: tuple[MockApp, MockApp], method: str, path: str, headers: Headers, **kw: Any
) -> Any:
    answers = []
    with deterministic() as reset:
        for app in apps:
            reset(0)  # the same ids and clock for both
            answers.append(_send(app, method, path, headers, **kw))
    fast, slow = answers
    assert fast == slow
    return fast


@pytest.mark.parametrize(
    ("authorization", "status", "message"),
    [
        ([(b"authorization", b"Bearer test_fast")], 200, None),
        ([(b"authorization", b"bearer test_fast")], 200, None),  # the type in any case
        ([(b"authorization", b"Bearer \t test_fast")], 200, None),  # any whitespace before
        ([], 401, "missing"),
        ([(b"authorization", b"")], 401, "missing"),
        ([(b"authorization", b"Bearer")], 401, None),  # no token: connexion's own 401
        ([(b"authorization", b"Basic dGVzdF9mYXN0Og==")], 401, "wrong"),  # another scheme
        ([(b"authorization", b"Bearer nonsense")], 401, "refused"),
        ([(b"authorization", b"Bearer test_fast ")], 200, None),  # no trailing whitespace
        ([(b"authorization", b"Bearer nonsense"), *BEARER], 400, None),  # two different
        ([(b"Authorization", b"Bearer test_fast")], 200, None),  # a name in any case
    ],
)
def test_bearer_credentials_are_decided_as_connexion_decides_them(
    finx: tuple[MockApp, MockApp], authorization: Headers, status: int, message: str | None
) -> None:
    got_status, _, content = _alike(finx, "GET", "/v1/kyc?limit=2", authorization)
    assert got_status == status, content
    if message == "missing":
        assert json.loads(content)["error"]["message"].startswith(
            errors.TOKEN_MISSING.split("{")[0]
        )
    if message == "wrong":
        assert json.loads(content)["error"]["message"].startswith(
            errors.WRONG_SCHEME.format(sent="Basic", how="").split(";")[0]
        )
    if message == "refused":
        assert json.loads(content)["error"]["message"].startswith(
            errors.TOKEN_INVALID.split("'")[0]
        )


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ([(b"content-type", b"application/json")], 200),
        ([(b"content-type", b"application/json; charset=utf-8")], 200),
        ([(b"content-type", b"Application/JSON")], 200),  # a media type in any case
        ([(b"Content-Type", b"application/json")], 200),  # a name not in lower case
        ([(b"content-type", b"text/plain")], 415),
        ([(b"content-type", b"application/json; charset=latin-1")], 415),
        ([(b"content-type", b"application/json"), (b"content-type", b"text/plain")], 400),
        ([], 415),  # none: content is sent with its media type (RFC 9110 §8.3)
    ],
)
def test_content_types_are_decided_as_connexion_decides_them(
    finx: tuple[MockApp, MockApp], content_type: Headers, status: int
) -> None:
    body = json.dumps(RECORD).encode()
    length = [(b"content-length", str(len(body)).encode())]
    got_status, _, content = _alike(
        finx, "POST", "/v1/kyc", BEARER + content_type + length, body=body
    )
    assert got_status == status, content


def test_many_content_types_are_each_validated(finx: tuple[MockApp, MockApp]) -> None:
    # More distinct values than an operation remembers: each is still checked.
    for number in range(80):
        content_type = f"application/json; v={number}".encode()
        body = b'{"customer_id": 7}' if number % 2 else json.dumps(RECORD).encode()
        length = str(len(body)).encode()
        headers = [*BEARER, (b"content-type", content_type), (b"content-length", length)]
        got_status, _, content = _alike(finx, "POST", "/v1/kyc", headers, body=body)
        assert got_status == (400 if number % 2 else 200), content


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        ([(b"authorization", b"Token token=test_fast")], 200),
        ([(b"authorization", b"Token token=nonsense")], 401),
        ([(b"authorization", b"Bearer test_fast")], 401),  # not how this API takes its key
        ([], 401),
    ],
)
def test_api_key_headers_are_decided_as_connexion_decides_them(
    authorization: Headers, status: int
) -> None:
    apps = (create_app(EXAMPLES), create_app(EXAMPLES, slow_path=True))
    got_status, _, content = _alike(apps, "GET", "/onboardly/v3.6/applicants", authorization)
    assert got_status == status, content


@pytest.mark.parametrize(
    ("authorization", "checked_by_connexion"),
    [(BEARER, 0), ([(b"authorization", b"Bearer nonsense")], 1), ([], 1)],
)
def test_only_a_resolving_credential_skips_connexions_check(
    monkeypatch: pytest.MonkeyPatch, authorization: Headers, checked_by_connexion: int
) -> None:
    calls: list[str] = []
    original = SecurityOperation.__call__

    async def counting(self: SecurityOperation, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(SecurityOperation, "__call__", counting)
    _send(create_app(api="finx"), "GET", "/v1/kyc", authorization)
    assert len(calls) == checked_by_connexion


# The hot path (`mockserver.hotpath`): what it answers itself (True), every branch that declines
# to the chain behind it (False; `ServerErrorMiddleware` is that chain's first entry), and what
# is answered in front of connexion on either path (None: the edge's head rules, CORS).
ORIGIN = [(b"origin", b"https://app.example")]
HOT_CASES = [
    ("GET", "/v1/kyc", BEARER, True, 200),
    ("GET", "/v1/kyc?limit=2&verification_status=pending", BEARER, True, 200),
    ("GET", "/v1/kyc?limit=2&", BEARER, True, 200),
    ("GET", "/v1/kyc?customer_id=", BEARER, False, 400),  # fails its pattern
    ("GET", "/v1/kyc?limit=abc", BEARER, False, 400),  # not an integer
    ("GET", "/v1/kyc?limit=1.0", BEARER, False, 400),
    ("GET", "/v1/kyc?limit=0", BEARER, False, 400),  # below the minimum
    ("GET", "/v1/kyc?limit=", BEARER, False, 400),
    ("GET", "/v1/kyc?limit=2&limit=3", BEARER, False, 400),  # sent twice
    ("GET", "/v1/kyc?colour=red", BEARER, False, 400),  # not declared (strict validation)
    ("GET", "/v1/kyc?=red", BEARER, False, 400),
    ("GET", "/v1/kyc?verification_status=bogus", BEARER, False, 400),
    ("GET", "/v1/kyc", [], False, 401),  # no credential
    ("GET", "/v1/kyc", [(b"authorization", b"Bearer nonsense")], False, 401),
    ("GET", "/v1/kyc", [(b"authorization", b"Basic dGVzdF9mYXN0Og==")], False, 401),
    ("GET", "/v1/kyc/", BEARER, False, 307),  # no route: the redirect to /v1/kyc
    ("GET", "/v1/nowhere", BEARER, False, 404),
    ("GET", "/v1/kyc/WAz8eIbvDR60rouK", BEARER, False, 404),  # the engine's error
    ("HEAD", "/v1/kyc", BEARER, True, 200),  # the GET operation, as connexion routes it
    ("DELETE", "/v1/kyc", BEARER, False, 405),
    ("DELETE", "/v1/kyc/WAz8eIbvDR60rouK", BEARER, False, 404),  # a write: the chain's
    ("POST", "/v1/kyc", [*BEARER, (b"content-length", b"0")], False, 400),
    ("GET", "/v1/kyc", [*BEARER, (b"content-length", b"0")], False, 200),  # a body
    ("GET", "/v1/kyc", [*BEARER, (b"content-type", b"multipart/form-data")], False, 400),
    ("GET", "/v1/kyc", [*BEARER, (b"accept", b"text/html")], False, 406),  # the handler raises
    ("GET", "/v1/kyc", [*BEARER, (b"prefer", b"code=401")], True, 401),  # answered as declared
    ("GET", "/v1/kyc", [*BEARER, (b"prefer", b"code=418")], False, 400),
    ("GET", "/v1/kyc", [*BEARER, (b"x-extra", b"1"), (b"x-extra", b"2")], True, 200),
    ("GET", "/v1/kyc", [*BEARER, *BEARER], True, 200),  # the same line twice is one field
    ("GET", "/v1/kyc", [*BEARER, (b"authorization", b"Bearer test_b")], None, 400),
    # the edge leaves these to the chain; the hot path behind the CORS middleware takes them
    ("GET", "/v1/kyc", [*BEARER, *ORIGIN], True, 200),
    ("GET", "/v1/kyc", [*BEARER, (b"prefer", b"delay=1")], True, 200),
    ("OPTIONS", "/v1/kyc", [*ORIGIN, (b"access-control-request-method", b"GET")], None, 200),
    ("GET", "/v1/kyc", [*BEARER, (b"transfer-encoding", b"chunked")], False, 200),
]


def _chain_entries(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The connexion apps whose chain behind the hot path each request enters, in order."""
    entered: list[Any] = []
    original = ServerErrorMiddleware.__call__

    async def counting(self: ServerErrorMiddleware, scope: Any, receive: Any, send: Any) -> None:
        entered.append(scope["app"])  # connexion's middleware app, set on the way in
        await original(self, scope, receive, send)

    monkeypatch.setattr(ServerErrorMiddleware, "__call__", counting)
    return entered


@pytest.mark.parametrize(("method", "path", "headers", "hot", "status"), HOT_CASES)
def test_the_hot_path_answers_the_happy_path_and_declines_the_rest(
    monkeypatch: pytest.MonkeyPatch,
    finx: tuple[MockApp, MockApp],
    method: str,
    path: str,
    headers: Headers,
    hot: bool | None,
    status: int,
) -> None:
    chain = _chain_entries(monkeypatch)
    logged = [len(app.server.store.requests(limit=10_000)) for app in finx]
    got_status, _, content = _alike(finx, method, path, headers)
    assert got_status == status, content
    fast, slow = (app.root.app.middleware for app in finx)  # type: ignore[attr-defined]
    assert chain.count(slow) == (0 if hot is None else 1)
    assert chain.count(fast) == (1 if hot is False else 0)
    # one log entry per request that reached the API, whichever path answered
    counts = [len(app.server.store.requests(limit=10_000)) for app in finx]
    added = [count - before for count, before in zip(counts, logged, strict=True)]
    assert added == ([1, 1] if hot is not None or status == 400 else [0, 0])


@pytest.mark.parametrize(
    ("query", "hot", "status"),
    [
        ("limit=2&verification_status=pending", True, 200),
        ("verification_status=pending&limit=2", True, 200),  # another string: its own answer
        ("limit=0", False, 400),
        ("colour=red", False, 400),
        ("", True, 200),
    ],
)
def test_a_query_string_sent_again_is_decided_as_the_first_time(
    monkeypatch: pytest.MonkeyPatch, query: str, hot: bool, status: int
) -> None:
    # Fresh apps (warmed up by another query), so the first request parses the query and the
    # others take the operation's kept arguments (`HotOperation.arguments`).
    apps = create_app(api="finx"), create_app(api="finx", slow_path=True)
    for app in apps:
        _send(app, "GET", "/v1/kyc/WAz8eIbvDR60rouK", BEARER)
    chain = _chain_entries(monkeypatch)
    answers = [_alike(apps, "GET", f"/v1/kyc?{query}", BEARER) for _ in range(3)]
    assert [answer[0] for answer in answers] == [status] * 3
    assert answers[1:] == answers[:1] * 2
    fast = apps[0].root.app.middleware  # type: ignore[attr-defined]
    assert chain.count(fast) == (0 if hot else 3)


JSON_TYPE = [(b"content-type", b"application/json")]
VALID = json.dumps(RECORD).encode()
WRITE_CASES = [
    ("POST", "/v1/kyc", JSON_TYPE, VALID, True, 200),
    ("POST", "/v1/kyc?limit=2", JSON_TYPE, VALID, False, 400),  # an undeclared parameter
    ("POST", "/v1/kyc", JSON_TYPE, b'{"customer_id": 7}', False, 400),  # fails its schema
    ("POST", "/v1/kyc", JSON_TYPE, b'{"customer_id": ', False, 400),  # not JSON
    ("POST", "/v1/kyc", JSON_TYPE, b"null", False, 400),
    ("POST", "/v1/kyc", JSON_TYPE, b"\xef\xbb\xbf{}", False, 400),  # a byte order mark
    ("POST", "/v1/kyc", [(b"content-type", b"application/json; charset=utf-8")], VALID, False, 200),
    ("POST", "/v1/kyc", [(b"content-type", b"text/plain")], VALID, False, 415),
    (
        "POST",
        "/v1/kyc",
        [(b"content-type", b"application/x-www-form-urlencoded")],
        b"&".join(b"%s=%s" % (k.encode(), v.encode()) for k, v in RECORD.items()),
        True,
        200,
    ),
    (
        "POST",
        "/v1/kyc",
        [(b"content-type", b"application/x-www-form-urlencoded")],
        b"customer_id=WAz8eIbvDR60rouK&colour=red",
        False,
        400,  # a field the schema does not declare (strict validation)
    ),
    (
        "POST",
        "/v1/kyc",
        [(b"content-type", b"application/x-www-form-urlencoded")],
        b"customer_id=a&customer_id=b",
        False,
        400,  # sent twice
    ),
    (
        "POST",
        "/v1/kyc",
        [(b"content-type", b"application/x-www-form-urlencoded")],
        b"customer_id=%FF",
        False,
        400,  # not UTF-8
    ),
    ("PUT", "/v1/kyc/WAz8eIbvDR60rouK", JSON_TYPE, b'{"document_number": "1"}', False, 404),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "hot", "status"), WRITE_CASES)
def test_the_hot_path_writes_a_valid_body_and_declines_the_rest(
    monkeypatch: pytest.MonkeyPatch,
    finx: tuple[MockApp, MockApp],
    method: str,
    path: str,
    headers: Headers,
    body: bytes,
    hot: bool,
    status: int,
) -> None:
    chain = _chain_entries(monkeypatch)
    length = [(b"content-length", str(len(body)).encode())]
    got_status, _, content = _alike(finx, method, path, BEARER + headers + length, body=body)
    assert got_status == status, content
    fast, slow = (app.root.app.middleware for app in finx)  # type: ignore[attr-defined]
    assert chain.count(slow) == 1
    assert chain.count(fast) == (0 if hot else 1)
    records = [json.dumps([r.to_json() for r in app.server.export()], default=str) for app in finx]
    assert records[0] == records[1]


def test_a_body_over_the_limit_is_declined_before_anything_is_written() -> None:
    apps = (
        create_app(api="finx", max_body_bytes=64),
        create_app(api="finx", max_body_bytes=64, slow_path=True),
    )
    before = [len(app.server.export()) for app in apps]
    headers = [*BEARER, *JSON_TYPE, (b"content-length", b"%d" % len(VALID))]
    got_status, _, content = _alike(apps, "POST", "/v1/kyc", headers, body=VALID)
    assert got_status == 413, content
    assert [len(app.server.export()) for app in apps] == before


def test_a_body_in_several_messages_is_read_whole(finx: tuple[MockApp, MockApp]) -> None:
    # what a server hands over for a body that arrives in pieces
    chunks = [VALID[:10], VALID[10:40], VALID[40:]]
    answers = []
    for app in finx:
        messages = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        sent: list[dict[str, Any]] = []

        async def receive(pending: list[dict[str, Any]] = messages) -> dict[str, Any]:
            return pending.pop(0) if pending else {"type": "http.disconnect"}

        async def send(message: dict[str, Any], into: list[dict[str, Any]] = sent) -> None:
            into.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/kyc",
            "raw_path": b"/v1/kyc",
            "query_string": b"",
            "root_path": "",
            "headers": [*BEARER, *JSON_TYPE, (b"content-length", b"%d" % len(VALID))],
        }
        with deterministic() as reset:
            reset(0)
            asyncio.run(app(scope, receive, send))
        answers.append((sent[0]["status"], sent[1]["body"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200


def test_the_hot_path_reads_a_record_once_it_exists(
    monkeypatch: pytest.MonkeyPatch, finx: tuple[MockApp, MockApp]
) -> None:
    body = json.dumps(RECORD).encode()
    created = _alike(
        finx,
        "POST",
        "/v1/kyc",
        [*BEARER, (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
        body=body,
    )
    record_id = json.loads(created[2])["id"]
    chain = _chain_entries(monkeypatch)
    status, _, content = _alike(finx, "GET", f"/v1/kyc/{record_id}", BEARER)
    assert status == 200
    assert json.loads(content)["id"] == record_id
    assert chain == [finx[1].root.app.middleware]  # type: ignore[attr-defined]


def test_the_slow_path_has_no_hot_path() -> None:
    app = create_app(api="finx", slow_path=True)
    edge = app.root
    assert getattr(edge, "lane", None) is None
