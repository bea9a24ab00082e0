"""Lists: every documented filter, page sizes and bounds, and pages that never skip or repeat."""

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from kycspec.loader import load_all
from mockserver import errors, paging
from tests.mockserver.conftest import (
    FINX,
    FINX_RESOURCES,
    KONTORION,
    advance_clock,
    bearer,
    finx_body,
    kontorion_body,
    set_clock,
)

STORE_BACKENDS = ("memory", "file", "redis")  # each test runs on every store

SPECS = load_all()
KONTORION_LIST = f"{KONTORION}/customer-verifications"
OTHER_FINX_CUSTOMER = "Abcdefgh12345678"
OTHER_KONTORION_CUSTOMER = "0b6f1a52-3c1e-4d7a-9f3e-5a2b7c9d1e24"


def _finx_create(client: TestClient, token: str, resource: str, n: int, **fields: str) -> list[str]:
    ids = []
    for _ in range(n):
        response = client.post(
            f"{FINX}/{resource}", headers=bearer(token), data=finx_body(**fields)
        )
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    return ids


def _kontorion_create(client: TestClient, token: str, n: int, **fields: str) -> list[str]:
    ids = []
    for _ in range(n):
        response = client.post(KONTORION_LIST, headers=bearer(token), json=kontorion_body(**fields))
        assert response.status_code == 201, response.text
        ids.append(response.json()["data"]["id"])
    return ids


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


def test_list_page_sizes_come_from_the_specs() -> None:
    finx = SPECS["finx"].operations["listKycRecords"].paging
    kontorion = SPECS["kontorion"].operations["listCustomerVerifications"].paging
    assert finx is not None and (finx.default_limit, finx.max_limit) == (10, 100)
    assert kontorion is not None and (kontorion.default_limit, kontorion.max_limit) == (20, 100)


# -- FinX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", FINX_RESOURCES)
def test_finx_list_default_page_is_ten_newest_first(client: TestClient, resource: str) -> None:
    created = _finx_create(client, "test_fdef", resource, 12)
    page = client.get(f"{FINX}/{resource}", headers=bearer("test_fdef"))
    assert page.status_code == 200
    assert _ids(page.json()) == created[::-1][:10]
    assert page.json()["has_more"] is True


@pytest.mark.parametrize("resource", FINX_RESOURCES)
def test_finx_list_walks_every_page_with_starting_after(client: TestClient, resource: str) -> None:
    created = _finx_create(client, "test_fwalk", resource, 25)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    pages = 0
    while True:
        page = client.get(f"{FINX}/{resource}", headers=bearer("test_fwalk"), params=params).json()
        pages += 1
        assert len(page["data"]) <= 7
        seen += _ids(page)
        if not page["has_more"]:
            break
        params["starting_after"] = page["data"][-1]["id"]
    assert pages == 4
    assert seen == created[::-1]


def test_finx_list_exact_page_boundary_has_more_false(client: TestClient) -> None:
    created = _finx_create(client, "test_fexact", "kyc", 10)
    page = client.get(f"{FINX}/kyc", headers=bearer("test_fexact")).json()
    assert _ids(page) == created[::-1]
    assert page["has_more"] is False


def test_finx_list_maximum_limit_is_100(client: TestClient) -> None:
    created = _finx_create(client, "test_fmax", "kyc", 101)
    page = client.get(f"{FINX}/kyc", headers=bearer("test_fmax"), params={"limit": 100}).json()
    assert _ids(page) == created[::-1][:100]
    assert page["has_more"] is True
    refused = client.get(f"{FINX}/kyc", headers=bearer("test_fmax"), params={"limit": 101})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "parameter_invalid"


@pytest.mark.parametrize("resource", FINX_RESOURCES)
def test_finx_list_filters_by_customer_and_status(client: TestClient, resource: str) -> None:
    mine_pending = _finx_create(client, "test_ffil", resource, 2)
    mine_failed = _finx_create(client, "test_ffil", resource, 2, verification_status="failed")
    other = _finx_create(client, "test_ffil", resource, 2, customer_id=OTHER_FINX_CUSTOMER)

    def listed(**params: str) -> list[str]:
        response = client.get(f"{FINX}/{resource}", headers=bearer("test_ffil"), params=params)
        assert response.status_code == 200, response.text
        return _ids(response.json())

    assert listed(customer_id=OTHER_FINX_CUSTOMER) == other[::-1]
    assert listed(verification_status="failed") == mine_failed[::-1]
    assert listed(verification_status="pending") == (mine_pending + other)[::-1]
    assert listed(customer_id=OTHER_FINX_CUSTOMER, verification_status="failed") == []
    assert listed(verification_status="verified") == []


def test_finx_list_filter_with_starting_after_pages_the_filtered_set(client: TestClient) -> None:
    wanted = []
    for _ in range(6):
        wanted += _finx_create(client, "test_ffp", "kyc", 1, verification_status="failed")
        _finx_create(client, "test_ffp", "kyc", 1)
    params: dict[str, Any] = {"verification_status": "failed", "limit": 4}
    first = client.get(f"{FINX}/kyc", headers=bearer("test_ffp"), params=params).json()
    params["starting_after"] = first["data"][-1]["id"]
    second = client.get(f"{FINX}/kyc", headers=bearer("test_ffp"), params=params).json()
    assert first["has_more"] is True
    assert second["has_more"] is False
    assert _ids(first) + _ids(second) == wanted[::-1]


def test_finx_list_unknown_starting_after_is_404(client: TestClient) -> None:
    """Fin X D5: a well-formed id that names no record is a 404, like any unknown id."""
    response = client.get(
        f"{FINX}/kyc", headers=bearer("test_fstart"), params={"starting_after": "zzzzzzzzzzzzzzzz"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == SPECS["finx"].errors.code("not_found")
    assert response.json()["error"]["message"] == errors.UNKNOWN_PAGE_START.format(
        id="zzzzzzzzzzzzzzzz"
    )


@pytest.mark.parametrize("start", ["0", "x" * 15, "x" * 17, "zzzzzzzzzzzzzzz-"])
def test_finx_list_malformed_starting_after_is_400(client: TestClient, start: str) -> None:
    """Fin X D5: `starting_after` has the record id format, so anything else is refused."""
    response = client.get(
        f"{FINX}/kyc", headers=bearer("test_fstart"), params={"starting_after": start}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == SPECS["finx"].errors.code("invalid_request")


# -- Kontorion ----------------------------------------------------------------------------------


def test_kontorion_list_default_page_is_twenty(client: TestClient) -> None:
    created = _kontorion_create(client, "test_kdef", 21)
    page = client.get(KONTORION_LIST, headers=bearer("test_kdef")).json()
    assert _ids(page) == created[::-1][:20]
    assert page["has_more"] is True
    assert isinstance(page["next_cursor"], str)


def test_kontorion_list_walks_every_page_with_cursor(client: TestClient) -> None:
    created = _kontorion_create(client, "test_kwalk", 25)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        page = client.get(KONTORION_LIST, headers=bearer("test_kwalk"), params=params).json()
        seen += _ids(page)
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        params["cursor"] = page["next_cursor"]
    assert seen == created[::-1]


def test_kontorion_list_cursor_survives_new_records(client: TestClient) -> None:
    created = _kontorion_create(client, "test_kcur", 6)
    first = client.get(KONTORION_LIST, headers=bearer("test_kcur"), params={"limit": 3}).json()
    _kontorion_create(client, "test_kcur", 2)  # newer records land before the cursor
    second = client.get(
        KONTORION_LIST,
        headers=bearer("test_kcur"),
        params={"limit": 3, "cursor": first["next_cursor"]},
    ).json()
    assert _ids(first) + _ids(second) == created[::-1]


@pytest.mark.parametrize("limit", [0, -1, 101, 10**12])
def test_kontorion_list_out_of_range_limit_is_400(client: TestClient, limit: int) -> None:
    response = client.get(KONTORION_LIST, headers=bearer("test_klim"), params={"limit": limit})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"


def test_kontorion_list_maximum_limit_is_100(client: TestClient) -> None:
    created = _kontorion_create(client, "test_kmax", 100)
    page = client.get(KONTORION_LIST, headers=bearer("test_kmax"), params={"limit": 100}).json()
    assert _ids(page) == created[::-1]
    assert page["has_more"] is False
    assert page["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["0", "nope", "AAAAAAAAAA", "AAAAAAAAAAAA", "AAAAAAAAAA="])
def test_kontorion_list_malformed_cursor_is_400(client: TestClient, cursor: str) -> None:
    """Kontorion D6: a cursor is 11 base64url characters; anything else is refused."""
    response = client.get(KONTORION_LIST, headers=bearer("test_kbad"), params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["code"] == SPECS["kontorion"].errors.code("invalid_request")


def test_kontorion_list_unissued_cursor_is_a_position(client: TestClient) -> None:
    """Kontorion D6: any well-formed cursor is a position; the page holds what is older."""
    created = _kontorion_create(client, "test_kpos", 3)
    before_all = paging.encode_cursor(0)
    after_all = "_" * 11  # the largest position
    for cursor, expected in ((before_all, []), (after_all, created[::-1])):
        response = client.get(
            KONTORION_LIST, headers=bearer("test_kpos"), params={"cursor": cursor}
        )
        assert response.status_code == 200, response.text
        assert _ids(response.json()) == expected


@pytest.mark.parametrize("seq", [0, 1, 20, 2**64 - 1])
def test_cursor_round_trips_in_the_declared_grammar(seq: int) -> None:
    cursor = paging.encode_cursor(seq)
    assert re.search(paging.CURSOR_PATTERN, cursor)
    assert paging.decode_cursor(cursor) == seq


@pytest.mark.parametrize("cursor", ["nope", "", "é" * 11, "AAAAAAAAAAAAAAAA"])
def test_cursor_that_does_not_decode_is_400(cursor: str) -> None:
    with pytest.raises(errors.InvalidRequest) as raised:
        paging.decode_cursor(cursor)
    assert raised.value.detail == errors.BAD_CURSOR.format(cursor=cursor)


def test_kontorion_list_filters_by_customer_status_and_type(client: TestClient) -> None:
    pending = _kontorion_create(client, "test_kfil", 2)
    verified = _kontorion_create(client, "test_kfil", 2, provider="sandbox_verified")
    failed = _kontorion_create(client, "test_kfil", 1, provider="sandbox_failed")
    kyb = _kontorion_create(
        client, "test_kfil", 2, verification_type="kyb", customer_id=OTHER_KONTORION_CUSTOMER
    )

    def listed(**params: str) -> list[str]:
        response = client.get(KONTORION_LIST, headers=bearer("test_kfil"), params=params)
        assert response.status_code == 200, response.text
        return _ids(response.json())

    assert listed(status="verified") == verified[::-1]
    assert listed(status="failed") == failed[::-1]
    assert listed(status="pending") == (pending + kyb)[::-1]
    assert listed(status="expired") == []
    assert listed(verification_type="kyb") == kyb[::-1]
    assert listed(customer_id=OTHER_KONTORION_CUSTOMER) == kyb[::-1]
    assert listed(verification_type="kyc", status="verified") == verified[::-1]
    assert listed(verification_type="age_verification") == []


def test_kontorion_list_filters_by_creation_time(client: TestClient) -> None:
    set_clock(client, "ktime", "2024-01-10T00:00:00Z")
    early = _kontorion_create(client, "test_ktime", 1)
    set_clock(client, "ktime", "2024-01-15T00:00:00Z")
    boundary = _kontorion_create(client, "test_ktime", 1)
    advance_clock(client, "ktime", 86400 * 10)
    middle = _kontorion_create(client, "test_ktime", 1)
    set_clock(client, "ktime", "2024-02-15T00:00:00Z")
    late = _kontorion_create(client, "test_ktime", 1)

    def listed(**params: str) -> list[str]:
        response = client.get(KONTORION_LIST, headers=bearer("test_ktime"), params=params)
        assert response.status_code == 200, response.text
        return _ids(response.json())

    # occurred_after is inclusive (>=), occurred_before exclusive (<), as the spec says.
    after, before = "2024-01-15T00:00:00Z", "2024-02-15T00:00:00Z"
    assert listed(occurred_after=after) == (boundary + middle + late)[::-1]
    assert listed(occurred_before=before) == (early + boundary + middle)[::-1]
    assert listed(occurred_after=after, occurred_before=before) == (boundary + middle)[::-1]
    assert listed(occurred_after="2024-01-15T00:00:00.5Z") == (middle + late)[::-1]
    assert listed(occurred_before="2024-01-10T00:00:00Z") == []


def test_kontorion_list_time_filter_rejects_non_rfc3339(client: TestClient) -> None:
    response = client.get(
        KONTORION_LIST, headers=bearer("test_kbadt"), params={"occurred_after": "yesterday"}
    )
    assert response.status_code == 400
