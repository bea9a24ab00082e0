"""The suite authenticates as each spec declares, and masks every credential in its evidence."""

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.results import Exchange, Verdict
from conformance.runner import run
from conformance.target import PLACEHOLDERS, Target, credential_headers, credential_params
from kycspec.loader import build_spec, load_spec
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.conftest import quick_settings
from tests.tinyspec import tiny_document, write_spec

SCHEMES = {
    "header": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    "prefixed": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "x-prefix": "Token token=",
    },
    "query": {"type": "apiKey", "in": "query", "name": "api_key"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
    "basic": {"type": "http", "scheme": "basic"},
}
PRESENTED = {
    "header": ({"X-Api-Key": "k_1"}, {}),
    "prefixed": ({"Authorization": "Token token=k_1"}, {}),
    "query": ({}, {"api_key": "k_1"}),
    "cookie": ({"Cookie": "session=k_1"}, {}),
    "basic": ({"Authorization": "Basic a18xOg=="}, {}),
}


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_credentials_present_the_key_where_the_scheme_says(scheme: str) -> None:
    op = build_spec("tiny", tiny_document({"key": SCHEMES[scheme]})).operations["getThing"]
    assert (credential_headers(op, "k_1"), credential_params(op, "k_1")) == PRESENTED[scheme]
    assert (credential_headers(op, None), credential_params(op, None)) == ({}, {})


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_credentials_are_masked_in_every_place_they_travel(scheme: str) -> None:
    spec = build_spec("tiny", tiny_document({"key": SCHEMES[scheme]}))
    target = Target(spec, "http://x", "sk_main", token_b="sk_other")
    op = spec.operations["getThing"]
    headers, params = credential_headers(op, "sk_main"), credential_params(op, "sk_main")
    query = "".join(f"?{k}={v}" for k, v in params.items())
    exchange = Exchange(
        "GET",
        f"http://x/things/1{query}",
        {**headers, "X-Echo": "sk_other"},
        b'{"note": "sk_main"}',
        masks=target.masks(),
    )
    shown = exchange.as_curl() + json.dumps(exchange.to_json())
    assert "sk_main" not in shown and "sk_other" not in shown
    assert "a18xOg" not in shown and "c2tfbWFpbjo" not in shown
    assert PLACEHOLDERS["token"] in shown and PLACEHOLDERS["token_b"] in shown


@pytest.mark.parametrize("scheme", ["prefixed", "query", "cookie", "basic"])
def test_credentials_suite_passes_against_the_mock_for_each_scheme(
    tmp_path: Path, scheme: str
) -> None:
    path = write_spec(tmp_path, tiny_document({"key": SCHEMES[scheme]}))
    with serve_in_thread(create_app(tmp_path, api="tiny", validate_responses=True)) as url:
        target = Target(load_spec(path), url + "/v1", "test_conf", token_b="test_other")
        results = run(target, quick_settings(), lambda e: None)
    failed = [
        (r.requirement.id, r.message)
        for r in results
        if r.verdict in (Verdict.FAILED, Verdict.ERROR)
    ]
    assert failed == []
    assert any(
        r.verdict is Verdict.PASSED and r.requirement.check == "missing_token_refused"
        for r in results
    )
    evidence: list[Any] = [e.to_json() for r in results for e in r.exchanges]
    assert "test_conf" not in json.dumps(evidence)


def test_a_short_key_is_masked_only_where_it_stands_whole() -> None:
    spec = build_spec("tiny", tiny_document({"key": SCHEMES["query"]}))
    target = Target(spec, "http://x", "k")
    exchange = Exchange(
        "GET",
        "http://x/things/1?api_key=k",
        {"X-Echo": "k"},
        b'{"kind": "k", "note": "kkk-k"}',
        masks=target.masks(),
    )
    token = PLACEHOLDERS["token"]
    assert exchange.as_curl() == (
        f"curl -X GET 'http://x/things/1?api_key={token}' -H 'X-Echo: {token}' "
        f'--data-binary \'{{"kind": "{token}", "note": "kkk-{token}"}}\''
    )
