"""Content negotiation: an Accept no declared response media type meets is a 406 (as Prism)."""

import pytest
from starlette.testclient import TestClient

from kycspec.loader import load_all
from mockserver import errors
from mockserver.head import acceptable
from tests.mockserver.conftest import CONTROL, FINX, KONTORION, bearer, kontorion_body

SPECS = load_all()
JSON = ["application/json"]


@pytest.mark.parametrize(
    ("accept", "allowed"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("APPLICATION/JSON", JSON),
        ("text/html, application/json; charset=UTF-8", JSON),
        ("application/json; q=0.1", JSON),
        ("application/xml", []),
        ("application/json; q=0, */*", []),  # the most specific range decides
        ("application/*; q=0.5, application/json; q=0", []),
        ("*/*; q=0", []),
        ("application/json; charset=iso-8859-1", []),
        ("text/*, */*; q=0.001", JSON),
        ("not a media range", JSON),  # nothing readable: as if absent
    ],
)
def test_negotiation_acceptable_follows_rfc_9110(accept: str | None, allowed: list[str]) -> None:
    assert acceptable(accept, JSON) == allowed


# Failing input 8: Accept: application/xml got a 200 with JSON.
@pytest.mark.parametrize("accept", ["application/xml", "text/html;q=1, application/json;q=0"])
def test_negotiation_unmet_accept_is_406_in_the_vendor_envelope(
    client: TestClient, accept: str
) -> None:
    response = client.get(f"{FINX}/kyc", headers=bearer("test_neg", Accept=accept))
    assert response.status_code == 406
    assert response.headers["content-type"] == SPECS["finx"].errors.media_type
    assert response.json()["error"] == {
        "code": SPECS["finx"].errors.code("not_acceptable"),
        "message": errors.NOT_ACCEPTABLE.format(available="application/json", accept=repr(accept)),
        "status": 406,
    }


def test_negotiation_406_changes_nothing(client: TestClient) -> None:
    before = client.get(f"{CONTROL}/snapshot").json()
    response = client.post(
        f"{KONTORION}/customer-verifications",
        headers=bearer("test_neg", Accept="application/xml"),
        json=kontorion_body(),
    )
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"{CONTROL}/snapshot").json() == before


@pytest.mark.parametrize("accept", ["*/*", "application/*", "application/json;q=0.5, */*;q=0.1"])
def test_negotiation_met_accept_is_answered(client: TestClient, accept: str) -> None:
    response = client.get(f"{FINX}/kyc", headers=bearer("test_neg", Accept=accept))
    assert response.status_code == 200
