"""A Stripe-shaped API as one YAML file (tests/data/formshaped): HTTP Basic with the key as the
user name, form bodies, bracket-named filters, Unix-seconds bounds, account-wide idempotency
keys and a declared `WWW-Authenticate`; on the compiled operations and on the slow path."""

import base64
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app
from mockserver.idempotency import REPLAYED_HEADER

SPECS = Path(__file__).resolve().parents[1] / "data" / "formshaped"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module", params=[False, True], ids=["compiled", "slow_path"])
def client(request: pytest.FixtureRequest) -> TestClient:
    app = create_app(SPECS, api="formshaped", validate_responses=True, slow_path=request.param)
    return TestClient(app)


def _key(sandbox: str, **extra: str) -> dict[str, str]:
    basic = base64.b64encode(f"test_{sandbox}:".encode()).decode()
    return {"Authorization": f"Basic {basic}", **extra}


def _form(sandbox: str, **extra: str) -> dict[str, str]:
    return _key(sandbox, **{"Content-Type": FORM, **extra})


def _create(client: TestClient, sandbox: str, body: bytes = b"client_reference_id=r") -> str:
    response = client.post("/v1/sessions", headers=_form(sandbox), content=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_form_shaped_401_names_basic_readably_with_the_declared_challenge(
    client: TestClient,
) -> None:
    response = client.get("/v1/sessions")
    assert response.status_code == 401
    how = errors.BASIC_HINT.format(example="test_<name>")
    assert response.json()["error"]["message"] == errors.TOKEN_MISSING.format(how=how)
    assert response.headers["www-authenticate"] == 'Basic realm="Formshaped"'


@pytest.mark.parametrize(
    ("sandbox", "query"), [("plain", "created[{op}]={at}"), ("encoded", "created%5B{op}%5D={at}")]
)
def test_form_shaped_bracket_named_filters_apply(
    client: TestClient, sandbox: str, query: str
) -> None:
    _create(client, sandbox)

    def found(op: str, at: int) -> int:
        url = "/v1/sessions?" + query.format(op=op, at=at)
        response = client.get(url, headers=_key(sandbox))
        assert response.status_code == 200, response.text
        return len(response.json()["data"])

    assert (found("lt", 1), found("lt", 4_000_000_000)) == (0, 1)
    assert (found("gte", 1), found("gte", 4_000_000_000)) == (1, 0)


def test_form_shaped_unix_bound_past_year_9999_is_beyond_every_record(
    client: TestClient,
) -> None:
    _create(client, "far")
    for op, at, expected in (("lt", 2458116296450, 1), ("gte", 2458116296450, 0)):
        response = client.get(f"/v1/sessions?created[{op}]={at}", headers=_key("far"))
        assert (response.status_code, len(response.json()["data"])) == (200, expected)
    response = client.get("/v1/sessions?created[gte]=-99999999999999", headers=_key("far"))
    assert (response.status_code, len(response.json()["data"])) == (200, 1)


def test_form_shaped_idempotency_key_replays_with_the_replayed_header(
    client: TestClient,
) -> None:
    headers = _form("replay", **{"Idempotency-Key": "k1"})
    first = client.post("/v1/sessions", headers=headers, content=b"client_reference_id=r")
    again = client.post("/v1/sessions", headers=headers, content=b"client_reference_id=r")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert REPLAYED_HEADER.lower() not in first.headers
    assert again.headers[REPLAYED_HEADER] == "true"


def test_form_shaped_idempotency_key_is_the_accounts_not_the_endpoints(
    client: TestClient,
) -> None:
    key = {"Idempotency-Key": "k-shared"}
    created = client.post(
        "/v1/sessions", headers=_form("scope", **key), content=b"client_reference_id=r"
    )
    assert created.status_code == 200
    session = created.json()["id"]
    other = client.post(f"/v1/sessions/{session}/cancel", headers=_key("scope", **key))
    assert other.status_code == 400
    assert other.json()["error"]["message"] == errors.IDEMPOTENCY_KEY_REUSED.format(key="k-shared")
    read = client.get(f"/v1/sessions/{session}", headers=_key("scope"))
    assert read.json()["status"] == "requires_input"
