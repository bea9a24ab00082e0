"""Time values follow RFC 3339 §5.6 everywhere: filters, the clock control, fixtures."""

import pytest
from starlette.testclient import TestClient

from kycspec.expressions import format_time
from mockserver import errors
from mockserver.clock import EARLIEST, LATEST
from tests.mockserver.conftest import CONTROL, KONTORION, bearer, kontorion_body, set_clock

LIST = f"{KONTORION}/customer-verifications"


def _create_at(client: TestClient, sandbox: str, now: str) -> str:
    set_clock(client, sandbox, now)
    response = client.post(LIST, headers=bearer(f"test_{sandbox}"), json=kontorion_body())
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


# Failing input 5: lowercase t/z was a 500.
@pytest.mark.parametrize(
    "after", ["2024-01-15t10:30:00z", "2024-01-15T11:30:00+01:00", "2024-01-15T10:29:59.5Z"]
)
def test_times_filter_reads_any_rfc_3339_spelling(client: TestClient, after: str) -> None:
    old = _create_at(client, "tf", "2024-01-15T10:00:00Z")
    new = _create_at(client, "tf", "2024-01-15T10:30:00Z")
    response = client.get(LIST, headers=bearer("test_tf"), params={"occurred_after": after})
    assert response.status_code == 200, response.text
    ids = [item["id"] for item in response.json()["data"]]
    assert new in ids
    assert old not in ids


# Failing input 5: values past the representable range were a 500.
@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("occurred_after", "9999-12-31T23:59:59-05:00"),
        ("occurred_before", "0001-01-01T00:00:00+05:00"),
        ("occurred_after", "2024-01-15T10:30:00"),
    ],
)
def test_times_filter_out_of_range_is_400_naming_it(
    client: TestClient, param: str, value: str
) -> None:
    response = client.get(LIST, headers=bearer("test_tr"), params={param: value})
    assert response.status_code == 400
    assert response.json()["detail"] == errors.TIME_INVALID.format(
        name=f"The parameter {param!r}", value=repr(value)
    )


def test_times_filter_at_the_last_second_is_not_a_500(client: TestClient) -> None:
    response = client.get(
        LIST, headers=bearer("test_tr"), params={"occurred_after": "9999-12-31T23:59:59.5Z"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == errors.TIME_INVALID.format(
        name="The parameter 'occurred_after'", value="'9999-12-31T23:59:59.5Z'"
    )


def test_times_clock_takes_any_rfc_3339_spelling(client: TestClient) -> None:
    url = f"{CONTROL}/sandboxes/tc/clock"
    response = client.put(url, json={"now": "2024-01-15t12:30:00+02:00", "frozen": True})
    assert response.status_code == 200, response.text
    created = client.post(LIST, headers=bearer("test_tc"), json=kontorion_body())
    assert created.json()["data"]["created_at"] == "2024-01-15T10:30:00Z"


def test_times_clock_outside_its_range_is_400(client: TestClient) -> None:
    url = f"{CONTROL}/sandboxes/tc/clock"
    response = client.put(url, json={"now": "1969-12-31T23:59:59Z"})
    assert response.status_code == 400
    assert response.json()["detail"] == errors.CLOCK_OUT_OF_RANGE.format(
        earliest=format_time(EARLIEST, "rfc3339"),
        latest=format_time(LATEST, "rfc3339"),
        name="now",
    )
    unrepresentable = client.put(url, json={"now": "9999-12-31T23:59:59-05:00"})
    assert unrepresentable.status_code == 400
    assert "'now'" in unrepresentable.json()["detail"]


def test_times_clock_advance_past_its_range_is_400(client: TestClient) -> None:
    set_clock(client, "tc", "8950-01-01T00:00:00Z")
    url = f"{CONTROL}/sandboxes/tc/clock"
    response = client.post(f"{url}/advance", json={"seconds": 100 * 365 * 86400})
    assert response.status_code == 400
    assert response.json()["detail"] == errors.CLOCK_OUT_OF_RANGE.format(
        earliest=format_time(EARLIEST, "rfc3339"),
        latest=format_time(LATEST, "rfc3339"),
        name="seconds",
    )
    assert client.get(url).json()["now"].startswith("8950-01-01")


def _docs_record(client: TestClient, **fields: str) -> dict[str, object]:
    """A Kontorion record as a fixture for sandbox `tx`, fields overridden."""
    _create_at(client, "tsrc", "2024-01-01T00:00:00Z")
    records = client.get(f"{CONTROL}/snapshot", params={"sandbox": "tsrc"}).json()["records"]
    (entry,) = records
    record = {k: v for k, v in entry["record"].items() if k not in ("organization_id", "actor_id")}
    return {**entry, "sandbox": "tx", "record": {**record, **fields}}


def test_times_fixture_times_are_stored_canonical(client: TestClient) -> None:
    entry = _docs_record(client, created_at="2024-01-15t12:30:00+02:00")
    response = client.post(f"{CONTROL}/fixtures", json={"records": [entry]})
    assert response.status_code == 200, response.text
    assert response.json()["records"][0]["record"]["created_at"] == "2024-01-15T10:30:00Z"
    listed = client.get(
        LIST, headers=bearer("test_tx"), params={"occurred_after": "2024-01-15T10:30:00Z"}
    )
    assert len(listed.json()["data"]) == 1


def test_times_fixture_time_out_of_range_is_400(client: TestClient) -> None:
    entry = _docs_record(client, created_at="9999-12-31T23:59:59-05:00")
    response = client.post(f"{CONTROL}/fixtures", json={"records": [entry]})
    assert response.status_code == 400
    assert "created_at" in response.json()["detail"]
