"""Stripe-style webhook signatures: HMAC-SHA256 over `<timestamp>.<body>`."""

import hashlib
import hmac

import pytest

from kycspec import signature

SECRET = "whsec_test_123"
BODY = b'{"id":"evt_123","type":"customer_verification.verified"}'
NOW = 1_700_000_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature.sign(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"


def test_signature_verifies_and_returns_its_timestamp() -> None:
    assert signature.verify(SECRET, signature.sign(SECRET, NOW, BODY), BODY, now=NOW + 10) == NOW


def test_signature_accepts_any_matching_v1_of_several() -> None:
    good = signature.sign(SECRET, NOW, BODY).split(",")[1]
    assert signature.verify(SECRET, f"t={NOW},v1=00ff,{good}", BODY, now=NOW) == NOW


@pytest.mark.parametrize(
    ("secret", "body", "now", "expected"),
    [
        (SECRET, BODY + b" ", NOW, signature.MISMATCH),
        ("whsec_other", BODY, NOW, signature.MISMATCH),
        (
            SECRET,
            BODY,
            NOW + 301,
            signature.TOO_OLD.format(timestamp=NOW, age=301, tolerance=300),
        ),
    ],
)
def test_signature_refuses_tampering_other_secrets_and_replays(
    secret: str, body: bytes, now: int, expected: str
) -> None:
    header = signature.sign(SECRET, NOW, BODY)
    with pytest.raises(signature.SignatureError, match="^" + expected.replace("(", r"\(")):
        signature.verify(secret, header, body, now=now)


@pytest.mark.parametrize("value", ["", "v1=abc", f"t={NOW}", "t=yesterday,v1=abc"])
def test_signature_refuses_a_malformed_header(value: str) -> None:
    with pytest.raises(signature.SignatureError) as refused:
        signature.verify(SECRET, value, BODY, now=NOW)
    assert str(refused.value) == signature.MALFORMED.format(value=value)


def test_signature_body_scheme_is_the_hmac_of_the_body_alone() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert signature.sign(SECRET, NOW, BODY, scheme=signature.BODY) == expected
    assert signature.verify(SECRET, expected, BODY, now=NOW, scheme=signature.BODY) is None
    with pytest.raises(signature.SignatureError) as refused:
        signature.verify(SECRET, expected, BODY + b" ", now=NOW, scheme=signature.BODY)
    assert str(refused.value) == signature.BODY_MISMATCH
