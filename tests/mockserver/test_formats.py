"""`format` is enforced on request bodies: date, date-time, email, uuid and uri."""

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.formats import is_date, is_uri, is_uuid
from tests.mockserver.conftest import bearer
from tests.tinyspec import tiny_document, write_spec

VALID = {
    "date": "2024-02-29",
    "date-time": "2024-01-15T10:30:00Z",
    "email": "someone@example.com",
    "uuid": "3f1c2b8e-6a4d-4f5e-9b7a-2c8d1e0f4a6b",
    "uri": "https://example.com/callback",
}
INVALID = {
    "date": ["not a date", "2023-02-29", "2024-1-5", "2024-01-15T00:00:00Z"],
    "date-time": ["not a time", "2024-01-15"],
    "email": ["not an email"],
    "uuid": ["", "3f1c2b8e"],
    "uri": ["not a uri", "relative/path", "https://exa mple.com"],
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    document = tiny_document()
    properties = document["components"]["schemas"]["Thing"]["properties"]
    for fmt in VALID:
        properties[fmt.replace("-", "_")] = {"type": "string", "format": fmt}
    directory = tmp_path_factory.mktemp("formats")
    write_spec(directory, document)
    return TestClient(create_app(directory, api="tiny", validate_responses=True))


@pytest.mark.parametrize("fmt", list(VALID))
def test_formats_valid_value_is_stored(client: TestClient, fmt: str) -> None:
    body = {fmt.replace("-", "_"): VALID[fmt]}
    response = client.post("/v1/things", headers=bearer("test_fmt"), json=body)
    assert response.status_code == 201
    assert response.json()[fmt.replace("-", "_")] == VALID[fmt]


@pytest.mark.parametrize(
    ("fmt", "value"), [(f, v) for f, values in INVALID.items() for v in values]
)
def test_formats_invalid_value_is_400(client: TestClient, fmt: str, value: str) -> None:
    body = {fmt.replace("-", "_"): value}
    response = client.post("/v1/things", headers=bearer("test_fmt"), json=body)
    assert response.status_code == 400, response.text


def test_formats_checks_let_other_types_through() -> None:
    # a format constrains strings only (JSON Schema validation 7.1); `type` refuses the rest
    assert is_date(5) and is_uri(None) and is_uuid(1.5)
