"""The example builder makes requests the spec accepts."""

import re

import jsonschema
import pytest

from conformance.requests import (
    NO_PATTERN_EXAMPLE,
    ExampleError,
    example_value,
    headers_for,
    path_for,
    valid_body,
)
from conformance.target import Target
from kycspec.loader import load_all

OPERATIONS = [(api, op) for api, spec in load_all().items() for op in spec.operations.values()]


@pytest.mark.parametrize(
    ("api", "op"), OPERATIONS, ids=[o.operation_id + "@" + a for a, o in OPERATIONS]
)
def test_requests_valid_body_validates(api: str, op: object) -> None:
    content_type, payload = valid_body(op)  # type: ignore[arg-type]
    if content_type is None:
        return
    schema = op.request_schema  # type: ignore[attr-defined]
    if content_type == "multipart/form-data":
        payload = {k: "file" if isinstance(v, bytes) else v for k, v in payload.items()}
    jsonschema.validate(payload, schema)


def test_requests_path_and_headers() -> None:
    spec = load_all()["finhub"]
    op = spec.operations["getVerificationStatus"]
    assert path_for(op, "ver_abc") == "/verifications/ver_abc"
    headers = headers_for(op, Target(spec, "http://x", "tok", tenant="t1"), "tok")
    assert headers == {"Authorization": "Bearer tok", "X-Tenant-ID": "t1"}


def test_requests_headers_without_token_carry_no_authorization() -> None:
    spec = load_all()["finhub"]
    op = spec.operations["getVerificationStatus"]
    assert headers_for(op, Target(spec, "http://x", "tok", tenant="t1"), None) == {
        "X-Tenant-ID": "t1"
    }


def test_requests_overrides_merge_nested() -> None:
    op = load_all()["finhub"].operations["submitIndividualVerification"]
    _, payload = valid_body(op, {"verificationData": {"documentNumber": "REJECT0000"}})
    assert payload["verificationData"] == {
        "documentType": "PASSPORT",
        "documentNumber": "REJECT0000",
    }


@pytest.mark.parametrize(
    ("pattern", "min_length"),
    [("^zz_[a-z0-9]+$", 1), ("^[A-Za-z0-9]{16}$", 1), ("^ab-[0-9]{2,}$", 12), ("^k[A-Z]?$", 1)],
)
def test_requests_pattern_without_example_gets_a_matching_value(
    pattern: str, min_length: int
) -> None:
    value = example_value({"type": "string", "pattern": pattern, "minLength": min_length})
    assert isinstance(value, str) and re.search(pattern, value) and len(value) >= min_length
    assert example_value({"type": "string", "pattern": pattern, "minLength": min_length}) == value


def test_requests_pattern_prefers_the_example() -> None:
    schema = {"type": "string", "pattern": "^zz_[a-z]+$", "example": "zz_given"}
    assert example_value(schema) == "zz_given"


def test_requests_unsupported_pattern_asks_for_an_example() -> None:
    pattern = "^(one|two)$"
    with pytest.raises(ExampleError, match=re.escape(NO_PATTERN_EXAMPLE.format(pattern=pattern))):
        example_value({"type": "string", "pattern": pattern})
