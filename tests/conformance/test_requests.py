"""The example builder makes requests the spec accepts."""

import jsonschema
import pytest

from conformance.requests import headers_for, path_for, valid_body
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
