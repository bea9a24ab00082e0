"""The suite walks every paging style a spec declares, and catches a server that ignores one."""

import copy
from pathlib import Path
from typing import Any

import pytest

from conformance.paging import WALKERS
from conformance.results import Verdict
from conformance.runner import run
from conformance.settings import Profile, Settings
from conformance.target import Target
from kycspec.loader import load_spec
from kycspec.paging import PAGING_STYLES
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.tinyspec import page_param, tiny_document, with_list, write_spec

LIMIT = {
    "name": "limit",
    "in": "query",
    "x-page": "limit",
    "schema": {"type": "integer", "default": 2},
}
STYLES: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "page": (
        [LIMIT, page_param("page", "page")],
        {"data": "$items", "meta": {"page": "$page", "total_count": "$total"}},
    ),
    "offset": (
        [LIMIT, page_param("offset", "offset")],
        {"data": "$items", "has_more": "$has_more"},
    ),
    "ending_before": (
        [
            LIMIT,
            page_param("starting_after", "starting_after"),
            page_param("ending_before", "ending_before"),
        ],
        {"data": "$items", "has_more": "$has_more"},
    ),
}
PAGING = Profile("paging", ("lifecycle",), 0, 6, 12)


def _run(tmp_path: Path, served: dict[str, Any], checked: dict[str, Any]) -> list[Any]:
    """The lifecycle layer, judging against `checked`, of a mock serving `served`."""
    serve_dir, check_dir = tmp_path / "served", tmp_path / "checked"
    serve_dir.mkdir()
    check_dir.mkdir()
    write_spec(serve_dir, served)
    path = write_spec(check_dir, checked)
    with serve_in_thread(create_app(serve_dir, api="tiny")) as url:
        target = Target(load_spec(path), url + "/v1", "test_walk", control_url=url + "/__mock")
        return run(target, Settings(PAGING, 3, budget_s=60.0), lambda e: None)


def test_paging_every_forward_style_has_a_walker() -> None:
    forward = {s.name for s in PAGING_STYLES if s.role == "forward"}
    assert forward == set(WALKERS.names())


@pytest.mark.parametrize("style", list(STYLES))
def test_paging_suite_walks_the_style_against_the_mock(tmp_path: Path, style: str) -> None:
    document = with_list(tiny_document(), *STYLES[style])
    results = [r for r in _run(tmp_path, document, document) if r.requirement.layer == "lifecycle"]
    assert [
        (r.requirement.check, r.message) for r in results if r.verdict is not Verdict.PASSED
    ] == []
    walked = next(r for r in results if r.requirement.check == "pagination_complete")
    assert walked.cases > 0


@pytest.mark.parametrize("style", list(STYLES))
def test_paging_suite_catches_a_server_that_ignores_the_style(tmp_path: Path, style: str) -> None:
    checked = with_list(tiny_document(), *STYLES[style])
    served = copy.deepcopy(checked)
    for param in served["paths"]["/things"]["get"]["parameters"]:
        if param.get("x-page") == style:
            del param["x-page"]  # the server accepts the parameter and pages as if it were absent
    results = _run(tmp_path, served, checked)
    failed = {r.requirement.check for r in results if r.verdict is Verdict.FAILED}
    assert "pagination_complete" in failed
