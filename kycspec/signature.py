"""Webhook signatures: HMAC-SHA256 (RFC 2104, FIPS 180-4) keyed with the signing secret.

Two schemes (`x-webhooks.signature.scheme`):

- `timestamped` (the default; Stripe, Persona and most KYC vendors): the header carries
  `t=<Unix seconds>,v1=<hex>`, the HMAC of the ASCII timestamp, a full stop and the exact bytes
  of the body (Stripe, "Verify webhook signatures manually"). The timestamp is real time, not
  the sandbox clock, so a receiver can refuse replays older than a tolerance whatever the
  sandbox clock shows.
- `body` (Onfido's `X-SHA2-Signature`): the header carries the hex HMAC of the body alone.
"""

import hashlib
import hmac

SCHEME = "v1"
TIMESTAMPED = "timestamped"
BODY = "body"
SCHEMES = (TIMESTAMPED, BODY)
DEFAULT_TOLERANCE_S = 300

MALFORMED = "the signature header is not t=<unix seconds>,v1=<hex>: {value!r}"
MISMATCH = "no v1 signature matches the body with this secret"
BODY_MISMATCH = "the signature is not the HMAC-SHA256 of the body with this secret"
TOO_OLD = (
    "the signature timestamp {timestamp} is {age} s from now, beyond the {tolerance} s tolerance"
)


class SignatureError(ValueError):
    """A signature that does not verify; the message says why (one of the constants above)."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` keyed with `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes, *, scheme: str = TIMESTAMPED) -> str:
    """The header value: `t=<timestamp>,v1=<hex>`, or for the `body` scheme the hex HMAC of
    the body alone."""
    if scheme == BODY:
        return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SCHEME}={compute(secret, timestamp, body)}"


def parse(value: str) -> tuple[int, list[str]]:
    """The timestamp and every `v1` signature of a header value; raises `SignatureError`."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t" and item.isdigit():
            timestamp = int(item)
        elif key == SCHEME and item:
            signatures.append(item)
    if timestamp is None or not signatures:
        raise SignatureError(MALFORMED.format(value=value))
    return timestamp, signatures


def verify(
    secret: str,
    value: str,
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_S,
    scheme: str = TIMESTAMPED,
) -> int | None:
    """Check a header value against the body; returns its timestamp (None for `body`).

    Raises `SignatureError` when the value is malformed, no `v1` signature matches (compared in
    constant time), or the timestamp is more than `tolerance` seconds from `now` (Unix time).
    """
    if scheme == BODY:
        if not hmac.compare_digest(sign(secret, 0, body, scheme=BODY), value.strip()):
            raise SignatureError(BODY_MISMATCH)
        return None
    timestamp, signatures = parse(value)
    expected = compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise SignatureError(MISMATCH)
    age = abs(int(now) - timestamp)
    if age > tolerance:
        raise SignatureError(TOO_OLD.format(timestamp=timestamp, age=age, tolerance=tolerance))
    return timestamp
