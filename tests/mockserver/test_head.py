"""The request head is read by one rule (mockserver.head), whichever HTTP parser uvicorn runs."""

import socket
from collections.abc import Iterator
from urllib.parse import urlencode

import orjson
import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app
from mockserver.head import parse_media_type, parse_preferences, read_head, split_list
from mockserver.testing import serve_in_thread
from tests.mockserver.conftest import FINX, KONTORION, bearer, finx_body, kontorion_body


def test_head_media_type_is_case_insensitive_with_optional_whitespace() -> None:
    for text in (
        "Application/JSON",
        "application/json ;charset=UTF-8",
        "application/json;  Charset=utf-8 ",
        'application/json; charset="utf-8"',
    ):
        media_type = parse_media_type(text)
        assert media_type is not None
        assert media_type.essence == "application/json"
    assert str(parse_media_type("Application/JSON ; CHARSET=UTF-8")) == (
        "application/json; charset=utf-8"
    )
    assert parse_media_type("json") is None
    assert parse_media_type("application/json; =x") is None


def test_head_media_type_blanks_around_semicolons_cannot_blow_up() -> None:
    # Read two ways per blank, this took 2^n steps (a ReDoS); read one way it is linear.
    assert parse_media_type("application/json" + " ; " * 30_000 + "x") is None


def test_head_field_values_lose_surrounding_whitespace_and_lines_combine() -> None:
    head = read_head(
        [
            (b"Prefer", b"  delay=10 "),
            (b"prefer", b"\tcode=404"),
            (b"Authorization", b"Bearer test_a  "),
            (b"Content-Type", b" Application/JSON ;charset=UTF-8"),
        ]
    )
    assert head.get("authorization") == "Bearer test_a"
    assert head.get("PREFER") == "delay=10, code=404"
    assert head.preferences == {"delay": "10", "code": "404"}
    assert head.get("content-type") == "application/json; charset=utf-8"
    assert head.repeated() == []


def test_head_already_canonical_is_handed_on_as_sent_and_any_other_respelled() -> None:
    sent = [
        (b"host", b"127.0.0.1"),
        (b"authorization", b"Bearer test_a"),
        (b"content-type", b"application/json; charset=utf-8"),
    ]
    head = read_head(sent)
    assert head.raw() is sent
    assert head.get("content-type") == "application/json; charset=utf-8"
    for changed in (
        [(b"Host", b"127.0.0.1")],
        [(b"host", b"127.0.0.1 ")],
        [(b"host", b"\t127.0.0.1")],
        [(b"content-type", b"application/JSON;charset=UTF-8")],
        [(b"accept", b"a/b"), (b"accept", b"c/d")],
    ):
        respelled = read_head(changed).raw()
        assert respelled is not changed
        assert respelled == read_head(respelled).raw()
        assert [name for name, _ in respelled] == [changed[0][0].lower()]
    assert read_head([(b"accept", b"a/b"), (b"accept", b"c/d")]).get("accept") == "a/b, c/d"


def test_head_single_valued_field_sent_twice_differently_is_named() -> None:
    head = read_head([(b"authorization", b"Bearer test_a"), (b"authorization", b"Bearer test_b")])
    assert head.repeated() == ["authorization"]
    same = read_head([(b"authorization", b"Bearer test_a"), (b"authorization", b"Bearer test_a ")])
    assert same.repeated() == []
    assert same.get("authorization") == "Bearer test_a"


def test_head_preferences_follow_rfc_7240() -> None:
    assert parse_preferences('example="docs", code=404; delay=5') == {
        "example": "docs",
        "code": "404",
        "delay": "5",
    }
    assert parse_preferences("code=404, code=500") == {"code": "404"}  # the first one counts
    assert split_list(' a , "b, c" ,, d ') == ["a", '"b, c"', "d"]


# Failing input 1: a mixed-case or spaced Content-Type reached connexion as typed, so the JSON
# validator was skipped (500) or the media type did not match (415).
@pytest.mark.parametrize(
    "content_type",
    ["Application/JSON", "application/json ;charset=utf-8", "APPLICATION/JSON; Charset=UTF-8"],
)
def test_head_content_type_spelling_does_not_matter(client: TestClient, content_type: str) -> None:
    response = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_ct", **{"Content-Type": content_type}),
        content=orjson.dumps(kontorion_body()),
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["check_type"] == "document"


def test_head_content_type_spelling_still_validates(client: TestClient) -> None:
    response = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_ct", **{"Content-Type": "Application/JSON"}),
        content=orjson.dumps({**kontorion_body(), "customer_id": "not-a-uuid"}),
    )
    assert response.status_code == 400


def test_head_charset_other_than_utf8_is_415(client: TestClient) -> None:
    response = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_ct", **{"Content-Type": "application/json; charset=iso-8859-1"}),
        content=orjson.dumps(kontorion_body()),
    )
    assert response.status_code == 415
    assert response.json()["detail"] == errors.CHARSET_UNSUPPORTED.format(charset="'iso-8859-1'")


# A Content-Type that is no media type was handed on as typed; spelled in upper case, connexion
# took it for JSON but gave the engine the raw bytes (500).
@pytest.mark.parametrize(
    "content_type", ["Application/Json; ===", "application/json; ===", "application/", ""]
)
def test_head_content_type_that_is_no_media_type_is_415(
    client: TestClient, content_type: str
) -> None:
    response = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_ct", **{"Content-Type": content_type}),
        content=orjson.dumps(kontorion_body()),
    )
    assert response.status_code == 415
    assert response.json()["detail"] == errors.MEDIA_TYPE_MALFORMED.format(
        value=errors.shown(content_type)
    )


# Failing input 6: two Prefer lines; one layer read the first line, another the last.
def test_head_prefer_lines_are_one_list(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("mockserver.edge.sleep", sleep)
    response = client.get(
        f"{FINX}/kyc/xgQQXg3hrtjh7AvZ",
        headers=[
            ("Authorization", "Bearer test_pl"),
            ("Prefer", "delay=1000"),
            ("Prefer", "code=404"),
        ],
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == errors.PREFER_FORCED.format(code=404)
    assert slept == [1.0]


def test_head_repeated_authorization_is_400(client: TestClient) -> None:
    response = client.get(
        f"{FINX}/kyc",
        headers=[("Authorization", "Bearer test_a"), ("Authorization", "Bearer test_b")],
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == errors.HEADER_REPEATED.format(
        name="authorization"
    )


def test_head_repeated_declared_header_parameter_is_400(client: TestClient) -> None:
    response = client.get(
        "/finhub/api/v2.1/verifications/ver_000000000000",
        headers=[
            ("Authorization", "Bearer test_a"),
            ("X-Tenant-ID", "t1"),
            ("X-Tenant-ID", "t2"),
        ],
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == errors.HEADER_REPEATED.format(name="x-tenant-id")


def _raw_request(url: str, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """The mock under each of uvicorn's HTTP parsers."""
    app = create_app()
    with serve_in_thread(app, http="h11") as h11, serve_in_thread(app, http="httptools") as ht:
        yield {"h11": h11, "httptools": ht}


RAW_CASES = {
    # surrounding whitespace of a token, a mixed-case spaced media type
    "spaced": (
        b"POST /kontorion/v1/customer-verifications HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: \t Bearer test_raw \t \r\n"
        b"Content-Type:   Application/JSON ;  charset=UTF-8  \r\n",
        orjson.dumps(kontorion_body()),
        201,
    ),
    # two Prefer lines, both applied (the docs record exists: 200 without them)
    "prefer": (
        b"GET /finx/v1/kyc/xgQQXg3hrtjh7AvZ HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer {token}\r\n"
        b"Prefer: delay=1 \r\nPrefer:  code=404\r\n",
        b"",
        404,
    ),
    # a tenant id with trailing whitespace is the same tenant
    "tenant": (
        b"GET /finhub/api/v2.1/verifications/ver_12345 HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer YOUR_ACCESS_TOKEN\r\nX-Tenant-ID: YOUR_TENANT_ID \t\r\n",
        b"",
        200,
    ),
}


@pytest.mark.parametrize("case", list(RAW_CASES))
def test_head_same_answer_under_h11_and_httptools(servers: dict[str, str], case: str) -> None:
    head, body, expected = RAW_CASES[case]
    answers = {name: _raw_request(url, head, body) for name, url in servers.items()}
    statuses = {name: status for name, (status, _) in answers.items()}
    assert statuses == {"h11": expected, "httptools": expected}


# A valid body sent with no Content-Type passed connexion's validation as bytes and the engine
# failed on them (500), on either path; RFC 9110 §8.3: content is sent with its media type.
@pytest.mark.parametrize("slow_path", [False, True])
def test_head_body_without_content_type_is_415(slow_path: bool) -> None:
    sent = [
        (f"{FINX}/kyc", urlencode(finx_body()).encode()),
        (f"{KONTORION}/customer-verifications", orjson.dumps(kontorion_body())),
    ]
    with TestClient(create_app(slow_path=slow_path), raise_server_exceptions=False) as client:
        for path, content in sent:
            response = client.post(path, headers=bearer("test_noct"), content=content)
            assert "content-type" not in {k.lower() for k in response.request.headers}
            assert response.status_code == 415, response.text
            assert errors.MEDIA_TYPE_MISSING in response.text
