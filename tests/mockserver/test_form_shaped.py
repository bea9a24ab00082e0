"""A Stripe-shaped API as one YAML file (tests/data/formshaped): HTTP Basic with the key as the
user name, form bodies, bracket-named filters, Unix-seconds bounds, account-wide idempotency
keys and a declared `WWW-Authenticate`; on the compiled operations and on the slow path."""

import base64
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app
from mockserver.deepobject import MAX_DEPTH
from mockserver.idempotency import REPLAYED_HEADER
from tests.tinyspec import tiny_document, write_spec

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


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b"metadata[order_id]=42&metadata[note]=a+b",
            {"metadata": {"order_id": "42", "note": "a b"}},
        ),
        (
            b"options[document][require_matching_selfie]=true",
            {"options": {"document": {"require_matching_selfie": "true"}}},
        ),
        (b"tags[]=a&tags[]=b", {"tags": ["a", "b"]}),
        (b"tags[1]=b&tags[0]=a", {"tags": ["a", "b"]}),
        (b"metadata%5Border_id%5D=42", {"metadata": {"order_id": "42"}}),
    ],
)
def test_form_shaped_deep_object_fields_are_folded_into_objects(
    client: TestClient, body: bytes, expected: dict[str, object]
) -> None:
    response = client.post("/v1/sessions", headers=_form("deep"), content=body)
    assert response.status_code == 200, response.text
    assert {key: response.json()[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"metadata[a]=1&metadata[a]=2", errors.PARAMETER_REPEATED.format(name="'metadata[a]'")),
        (b"metadata=x&metadata[a]=1", errors.FORM_FIELD_CONFLICT.format(name="'metadata[a]'")),
        (
            b"options[document]=1&options[document][require_matching_selfie]=2",
            errors.FORM_FIELD_CONFLICT.format(
                name=errors.shown("options[document][require_matching_selfie]")
            ),
        ),
        (
            b"options" + b"[a]" * (MAX_DEPTH + 1) + b"=1",
            errors.FORM_FIELD_TOO_DEEP.format(
                name=errors.shown("options" + "[a]" * (MAX_DEPTH + 1)), limit=MAX_DEPTH
            ),
        ),
        (
            b"nested[a]][b]=1",
            errors.FORM_FIELD_UNREADABLE.format(name="'nested[a]][b]'"),
        ),
    ],
)
def test_form_shaped_deep_object_fields_that_do_not_fold_are_400(
    client: TestClient, body: bytes, message: str
) -> None:
    response = client.post("/v1/sessions", headers=_form("deep"), content=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


@pytest.mark.parametrize(
    ("body", "metadata"),
    [
        (b"metadata[a[b]=1", {"a[b": "1"}),
        (b"metadata[a]]=1", {"a]": "1"}),
        (b"metadata[[x]]=1&metadata[]]=2", {"[x]": "1", "]": "2"}),
        (b"metadata[a][b]=1&metadata[a]=2", {"a][b": "1", "a": "2"}),
        (b"metadata%5Ba%5D%5D=1", {"a]": "1"}),
    ],
)
def test_form_shaped_a_metadata_key_may_hold_brackets(
    client: TestClient, body: bytes, metadata: dict[str, str]
) -> None:
    """A map of text takes any key: the text between the first `[` and the final `]`."""
    response = client.post("/v1/sessions", headers=_form("brackets"), content=body)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == metadata


def test_form_shaped_deep_object_values_meet_the_schema(client: TestClient) -> None:
    bad = b"options[document][require_matching_selfie]=maybe"
    response = client.post("/v1/sessions", headers=_form("deep"), content=bad)
    assert response.status_code == 400
    undeclared = client.post("/v1/sessions", headers=_form("deep"), content=b"other[a]=1")
    assert undeclared.status_code == 400


def test_form_shaped_empty_form_is_a_body_when_no_field_is_required(client: TestClient) -> None:
    created = client.post("/v1/sessions", headers=_form("empty"), content=b"")
    assert created.status_code == 200, created.text
    updated = client.post(f"/v1/sessions/{created.json()['id']}", headers=_form("empty"))
    assert updated.status_code == 200, updated.text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [(FORM, b"foo=bar"), ("text/xml", b"<a/>"), ("application/json", b"{}")],
)
def test_form_shaped_body_on_an_operation_that_takes_none_is_415(
    client: TestClient, content_type: str, body: bytes
) -> None:
    session = _create(client, "nobody")
    url = f"/v1/sessions/{session}/cancel"
    refused = client.post(
        url, headers=_key("nobody", **{"Content-Type": content_type}), content=body
    )
    assert refused.status_code == 415
    assert refused.json()["error"] == {
        "code": "unsupported_media_type",
        "message": errors.BODY_NOT_TAKEN,
    }
    empty = client.post(url, headers=_key("nobody", **{"Content-Type": content_type}), content=b"")
    assert (empty.status_code, empty.json()["status"]) == (200, "canceled")


def test_a_zero_length_written_with_leading_zeros_is_no_content(client: TestClient) -> None:
    session = _create(client, "zeros")
    headers = _key("zeros", **{"Content-Type": FORM, "Content-Length": "00"})
    answered = client.post(f"/v1/sessions/{session}/cancel", headers=headers, content=b"")
    assert (answered.status_code, answered.json()["status"]) == (200, "canceled")


def test_a_required_json_body_sent_empty_is_still_400(tmp_path: Path) -> None:
    write_spec(tmp_path, tiny_document())
    client = TestClient(create_app(tmp_path, api="tiny"))
    headers = {"Authorization": "Bearer test_json", "Content-Type": "application/json"}
    assert client.post("/v1/things", headers=headers, content=b"").status_code == 400
    assert client.post("/v1/things", headers=headers, json={}).status_code == 201
