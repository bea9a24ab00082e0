"""Verdicts: which ones block conformance, and how an exchange is shown."""

import pytest

from conformance.requirements import build_catalogue
from conformance.results import EVIDENCE_BYTES, Exchange, Result, Verdict, is_blocking
from conformance.target import OTHER_CREDENTIAL, PLACEHOLDERS, Target
from kycspec.loader import load_all

SPEC = load_all()["finx"]
CATALOGUE = build_catalogue(SPEC)
MUST = next(r for r in CATALOGUE if r.level == "MUST")
SHOULD = next(r for r in CATALOGUE if r.level == "SHOULD")


@pytest.mark.parametrize(
    ("level", "verdict", "blocking"),
    [
        ("MUST", Verdict.FAILED, True),
        ("MUST", Verdict.ERROR, True),
        ("MUST", Verdict.PASSED, False),
        ("MUST", Verdict.SKIPPED, False),
        ("SHOULD", Verdict.FAILED, False),
        ("SHOULD", Verdict.ERROR, False),
    ],
)
def test_results_is_blocking_only_for_a_broken_must(
    level: str, verdict: Verdict, blocking: bool
) -> None:
    requirement = MUST if level == "MUST" else SHOULD
    assert is_blocking(Result(requirement, verdict)) is blocking


def test_results_exchange_shows_the_credential_by_name() -> None:
    target = Target(SPEC, "http://x", "tok_a", token_b="tok_b", admin_token="tok_admin")
    for token, name in (("tok_a", "token"), ("tok_b", "token_b"), ("tok_admin", "admin_token")):
        headers = {"authorization": f"Bearer {token}"}
        curl = Exchange("GET", "http://x", headers, None, credential=target.placeholder(headers))
        assert f"authorization: Bearer {PLACEHOLDERS[name]}" in curl.as_curl()
        assert token not in curl.as_curl()
    unknown = Exchange("GET", "http://x", {"Authorization": "Bearer someone_else"}, None)
    assert unknown.as_curl().endswith(f"'Authorization: Bearer {OTHER_CREDENTIAL}'")


def test_results_evidence_keeps_bodies_bounded() -> None:
    big = Exchange("POST", "http://x", {}, b"q" * (EVIDENCE_BYTES + 1), 200, {}, b"r" * 10**6)
    kept = big.as_evidence()
    assert kept.request_body == b"q" * EVIDENCE_BYTES
    assert kept.response_body == b"r" * EVIDENCE_BYTES
    small = Exchange("GET", "http://x", {}, None, 200, {}, b"{}")
    assert small.as_evidence() is small
