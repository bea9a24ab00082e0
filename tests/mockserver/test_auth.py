"""Every credential scheme a spec can declare opens a sandbox; public operations need none."""

import base64
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kycspec.credentials import compile_credential
from kycspec.loader import build_spec, load_all
from mockserver import cli, errors
from mockserver.app import create_app
from mockserver.auth import key_hints
from tests.tinyspec import tiny_document, write_spec

ROOT = Path(__file__).resolve().parents[2]

BASE = "/v1"
SCHEMES: dict[str, tuple[dict[str, Any], Any]] = {
    # scheme object, and how a request presents key k: (headers, params, cookies)
    "bearer": (
        {"type": "http", "scheme": "bearer"},
        lambda k: ({"Authorization": f"Bearer {k}"}, {}, {}),
    ),
    "basic": (
        {"type": "http", "scheme": "basic"},
        lambda k: (
            {"Authorization": "Basic " + base64.b64encode(f"{k}:".encode()).decode()},
            {},
            {},
        ),
    ),
    "header": (
        {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        lambda k: ({"X-Api-Key": k}, {}, {}),
    ),
    "prefixed": (
        {"type": "apiKey", "in": "header", "name": "Authorization", "x-prefix": "Token token="},
        lambda k: ({"Authorization": f"Token token={k}"}, {}, {}),
    ),
    "query": (
        {"type": "apiKey", "in": "query", "name": "api_key"},
        lambda k: ({}, {"api_key": k}, {}),
    ),
    "cookie": (
        {"type": "apiKey", "in": "cookie", "name": "session"},
        lambda k: ({}, {}, {"session": k}),
    ),
}


def _client(tmp_path: Path, document: dict[str, Any]) -> TestClient:
    write_spec(tmp_path, document)
    return TestClient(create_app(tmp_path, api="tiny"))


def _send(
    client: TestClient, method: str, path: str, present: Any, key: str | None, **kw: Any
) -> Any:
    headers, params, cookies = present(key) if key else ({}, {}, {})
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    return client.request(method, BASE + path, headers=headers, params=params, **kw)


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_auth_each_scheme_opens_the_sandbox_its_key_names(tmp_path: Path, scheme: str) -> None:
    raw, present = SCHEMES[scheme]
    client = _client(tmp_path, tiny_document({"key": raw}))
    created = _send(client, "POST", "/things", present, "test_alice", json={"name": "a"})
    assert created.status_code == 201, created.text
    thing = created.json()["id"]
    assert _send(client, "GET", f"/things/{thing}", present, "test_alice").status_code == 200
    assert _send(client, "GET", f"/things/{thing}", present, "test_bob").status_code == 404


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_auth_each_scheme_missing_key_is_401_naming_how_to_send_it(
    tmp_path: Path, scheme: str
) -> None:
    raw, present = SCHEMES[scheme]
    client = _client(tmp_path, tiny_document({"key": raw}))
    response = _send(client, "GET", "/things/thg_1", present, None)
    assert response.status_code == 401
    how = "'" + compile_credential("key", raw).describe("test_<name>") + "'"
    if scheme == "basic":
        how = errors.BASIC_HINT.format(example="test_<name>")
    assert response.json() == {"error": errors.TOKEN_MISSING.format(how=how)}
    assert response.headers["www-authenticate"]


@pytest.mark.parametrize(("scheme", "sent"), [("basic", "bearer"), ("bearer", "basic")])
def test_auth_a_key_in_another_scheme_is_401_naming_the_scheme_sent_and_the_one_expected(
    tmp_path: Path, scheme: str, sent: str
) -> None:
    client = _client(tmp_path, tiny_document({"key": SCHEMES[scheme][0]}))
    response = _send(client, "GET", "/things/thg_1", SCHEMES[sent][1], "test_alice")
    assert response.status_code == 401
    how = "'" + compile_credential("key", SCHEMES[scheme][0]).describe("test_<name>") + "'"
    if scheme == "basic":
        how = errors.BASIC_HINT.format(example="test_<name>")
    named = {"bearer": "Bearer", "basic": "Basic"}[sent]
    assert response.json() == {"error": errors.WRONG_SCHEME.format(sent=named, how=how)}


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_auth_each_scheme_refuses_a_key_of_no_sandbox(tmp_path: Path, scheme: str) -> None:
    raw, present = SCHEMES[scheme]
    client = _client(tmp_path, tiny_document({"key": raw}))
    response = _send(client, "GET", "/things/thg_1", present, "nonsense")
    assert response.status_code == 401
    assert response.json()["error"].startswith(errors.TOKEN_INVALID.split("'")[0])


def test_auth_public_operation_answers_without_a_key(tmp_path: Path) -> None:
    document = tiny_document()
    document["paths"]["/things/{id}"]["get"]["security"] = []
    client = _client(tmp_path, document)
    response = client.get(f"{BASE}/things/thg_unknown")
    assert response.status_code == 404  # reached the engine: no 401, no 500
    assert client.post(f"{BASE}/things", json={"name": "a"}).status_code == 401


def test_auth_alternative_schemes_each_open_the_sandbox(tmp_path: Path) -> None:
    document = tiny_document({"a": SCHEMES["header"][0], "b": SCHEMES["bearer"][0]})
    document["security"] = [{"a": []}, {"b": []}]
    client = _client(tmp_path, document)
    for scheme in ("header", "bearer"):
        created = _send(client, "POST", "/things", SCHEMES[scheme][1], "test_x", json={})
        assert created.status_code == 201


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        ("specs", {"finhub, finx, kontorion": "'Authorization: Bearer test_<name>'"}),
        (
            "examples/specs",
            {
                "inquire": "'Authorization: Basic base64(test_<name>:)'",
                "onboardly": "'Authorization: Token token=test_<name>'",
            },
        ),
    ],
)
def test_auth_serve_banner_shows_each_apis_own_credential_scheme(
    directory: str, expected: dict[str, str]
) -> None:
    specs = load_all(ROOT / directory)
    with cli.console.capture() as captured:
        cli._banner(specs, None, "http://127.0.0.1:1", "test_", "admin_", 0.1)
    shown = captured.get()
    assert "Keys: test_<name> opens sandbox <name>; admin_<name> the same sandbox" in shown
    for names, how in expected.items():
        assert f"  {names}: {how}\n" in shown
    hints = key_hints(specs, "test_<name>")
    assert {", ".join(names): how for how, names in hints.items()} == expected


@pytest.mark.parametrize(
    ("raw", "how"),
    [
        ({"type": "apiKey", "in": "header", "name": "X-Api-Key"}, "'X-Api-Key: test_<name>'"),
        ({"type": "apiKey", "in": "query", "name": "api_key"}, "'?api_key=test_<name>'"),
        ({"type": "apiKey", "in": "cookie", "name": "session"}, "'Cookie: session=test_<name>'"),
    ],
)
def test_auth_key_hints_name_the_header_query_or_cookie(raw: dict[str, str], how: str) -> None:
    document = tiny_document({"key": raw})
    spec = build_spec("tiny", document)
    assert key_hints({"tiny": spec}, "test_<name>") == {how: ["tiny"]}
