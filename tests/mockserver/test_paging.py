"""Every paging style pages the same records: page numbers, offsets, ending_before, totals."""

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kycspec import vocabulary
from kycspec.loader import SpecError, build_spec
from kycspec.paging import PAGING_STYLES
from mockserver import errors
from mockserver.app import create_app
from mockserver.paging import PAGERS
from tests.mockserver.conftest import bearer
from tests.tinyspec import page_param, tiny_document, with_list, write_spec

LIMIT = {
    "name": "per_page",
    "in": "query",
    "x-page": "limit",
    "schema": {"type": "integer", "default": 2, "maximum": 50},
}
ONFIDO = {
    "data": "$items",
    "meta": {"page": "$page", "per_page": "$limit", "total_count": "$total"},
}
STRIPE = {"data": "$items", "has_more": "$has_more"}


def _client(
    tmp_path: Path, parameters: list[dict[str, Any]], response: dict[str, Any]
) -> TestClient:
    write_spec(tmp_path, with_list(tiny_document(), parameters, response))
    return TestClient(create_app(tmp_path, api="tiny", validate_responses=True))


def _create(client: TestClient, token: str, count: int) -> list[str]:
    return [
        client.post("/v1/things", headers=bearer(token), json={"name": f"n{i}"}).json()["id"]
        for i in range(count)
    ]


def _list(client: TestClient, token: str, **query: Any) -> Any:
    response = client.get("/v1/things", headers=bearer(token), params=query)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(body: Any) -> list[str]:
    return [item["id"] for item in body["data"]]


def test_paging_every_moving_style_has_a_pager() -> None:
    moving = {s.name for s in PAGING_STYLES if s.role != "size"}
    assert moving <= set(PAGERS.names())


def test_paging_page_numbers_with_totals(tmp_path: Path) -> None:
    client = _client(tmp_path, [LIMIT, page_param("page", "page")], ONFIDO)
    newest_first = _create(client, "test_pages", 5)[::-1]
    first = _list(client, "test_pages")
    assert _ids(first) == newest_first[:2]
    assert first["meta"] == {"page": 1, "per_page": 2, "total_count": 5}
    assert _ids(_list(client, "test_pages", page=2)) == newest_first[2:4]
    assert _ids(_list(client, "test_pages", page=3)) == newest_first[4:]
    assert _ids(_list(client, "test_pages", page=4)) == []


@pytest.mark.parametrize("page", ["0", "-1", "two"])
def test_paging_page_number_below_one_is_400(tmp_path: Path, page: str) -> None:
    client = _client(tmp_path, [LIMIT, page_param("page", "page")], ONFIDO)
    response = client.get("/v1/things", headers=bearer("test_p"), params={"page": page})
    assert response.status_code == 400
    message = errors.BAD_PAGE_NUMBER.format(what="page", value=page, low=1)
    assert response.json() == {"error": message}


def test_paging_offset(tmp_path: Path) -> None:
    client = _client(tmp_path, [LIMIT, page_param("offset", "offset")], STRIPE)
    newest_first = _create(client, "test_offset", 5)[::-1]
    assert _list(client, "test_offset", offset=1)["has_more"] is True
    assert _ids(_list(client, "test_offset", offset=1)) == newest_first[1:3]
    assert _list(client, "test_offset", offset=3)["has_more"] is False


def test_paging_ending_before_walks_back(tmp_path: Path) -> None:
    params = [
        LIMIT,
        page_param("starting_after", "starting_after"),
        page_param("ending_before", "ending_before"),
    ]
    client = _client(tmp_path, params, STRIPE)
    newest_first = _create(client, "test_back", 5)[::-1]
    last = _list(client, "test_back", starting_after=newest_first[3])
    assert _ids(last) == newest_first[4:]
    back = _list(client, "test_back", ending_before=newest_first[4])
    assert (_ids(back), back["has_more"]) == (newest_first[2:4], True)
    top = _list(client, "test_back", ending_before=newest_first[2])
    assert (_ids(top), top["has_more"]) == (newest_first[:2], False)


def test_paging_two_moves_at_once_use_the_first_declared(tmp_path: Path) -> None:
    params = [
        LIMIT,
        page_param("starting_after", "starting_after"),
        page_param("ending_before", "ending_before"),
    ]
    client = _client(tmp_path, params, STRIPE)
    newest_first = _create(client, "test_both", 3)[::-1]
    both = _list(client, "test_both", starting_after=newest_first[0], ending_before=newest_first[2])
    assert _ids(both) == newest_first[1:3]


def test_paging_unknown_marker_is_refused_at_load() -> None:
    document = with_list(tiny_document(), [LIMIT, page_param("p", "pagenumber")], STRIPE)
    allowed = ", ".join(PAGING_STYLES.names())
    with pytest.raises(SpecError) as refused:
        build_spec("tiny", document, source="tiny.yaml")
    assert str(refused.value) == "tiny.yaml#/paths/~1things/get/parameters/1/x-page: " + (
        vocabulary.NOT_ONE_OF.format(value="pagenumber", allowed=allowed)
    )


def test_paging_two_forward_markers_are_refused_at_load() -> None:
    document = with_list(
        tiny_document(), [LIMIT, page_param("p", "page"), page_param("o", "offset")], STRIPE
    )
    with pytest.raises(SpecError, match="one forward x-page marker per list, found page, offset"):
        build_spec("tiny", document, source="tiny.yaml")
