"""An object property of a form body with no encoding declared (tests/data/formencoded
`address`) is sent as its members, `style: form` with `explode: true` (OpenAPI 3.0.3 §4.7.14):
the mock folds them into it, and refuses a field nothing takes in the vendor's envelope; on the
compiled operations and on the slow path."""

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver import errors
from mockserver.app import create_app

SPECS = Path(__file__).resolve().parents[1] / "data" / "formencoded"
HEADERS = {
    "Authorization": "Bearer test_exploded",
    "Content-Type": "application/x-www-form-urlencoded",
}


@pytest.fixture(scope="module", params=[False, True], ids=["compiled", "slow_path"])
def client(request: pytest.FixtureRequest) -> TestClient:
    app = create_app(SPECS, validate_responses=True, slow_path=request.param)
    return TestClient(app)


def _create(client: TestClient, body: bytes) -> tuple[int, dict[str, object]]:
    response = client.post("/formencoded/v1/cards", headers=HEADERS, content=body)
    return response.status_code, response.json()


def test_exploded_object_members_are_folded_into_it(client: TestClient) -> None:
    status, card = _create(client, b"holder=h&line1=Main+St&floor=3&limits%5Bdaily%5D=5")
    assert status == 200, card
    assert card["address"] == {"line1": "Main St", "floor": 3}
    assert card["limits"] == {"daily": 5}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"holder=h&line1=a&nope=1", errors.FORM_FIELD_UNKNOWN.format(name="'nope'")),
        (b"holder=h&address=x&line1=a", errors.FORM_FIELD_CONFLICT.format(name="'line1'")),
        (b"holder=h&line1=a&line1=b", errors.PARAMETER_REPEATED.format(name="'line1'")),
    ],
)
def test_a_field_no_property_takes_is_a_400_naming_it(
    client: TestClient, body: bytes, message: str
) -> None:
    status, refused = _create(client, body)
    assert status == 400
    assert refused == {"error": {"code": "parameter_invalid", "message": message}}


def test_exploded_object_members_meet_its_schema(client: TestClient) -> None:
    status, refused = _create(client, b"holder=h&floor=3")
    assert status == 400
    assert "line1" in refused["error"]["message"]  # type: ignore[index]
