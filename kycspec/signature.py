"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<raw body>`, as Stripe signs its webhooks.

The header a spec names (`x-webhooks.signature.header`) carries `t=<Unix seconds>,v1=<hex>`,
where `<hex>` is HMAC-SHA256 (RFC 2104, FIPS 180-4) keyed with the sandbox's signing secret
over the ASCII timestamp, a full stop and the exact bytes of the body (Stripe, "Verify
webhook signatures manually"). The timestamp is real time, not the sandbox clock, so a receiver
can refuse replays older than a tolerance whatever the sandbox clock shows.
"""

import hashlib
import hmac

SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300

MALFORMED = "the signature header is not t=<unix seconds>,v1=<hex>: {value!r}"
MISMATCH = "no v1 signature matches the body with this secret"
TOO_OLD = (
    "the signature timestamp {timestamp} is {age} s from now, beyond the {tolerance} s tolerance"
)


class SignatureError(ValueError):
    """A signature that does not verify; the message says why (one of the constants above)."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` keyed with `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: `t=<timestamp>,v1=<hex>`."""
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
    secret: str, value: str, body: bytes, *, now: float, tolerance: int = DEFAULT_TOLERANCE_S
) -> int:
    """Check a header value against the body; returns its timestamp.

    Raises `SignatureError` when the value is malformed, no `v1` signature matches (compared in
    constant time), or the timestamp is more than `tolerance` seconds from `now` (Unix time).
    """
    timestamp, signatures = parse(value)
    expected = compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise SignatureError(MISMATCH)
    age = abs(int(now) - timestamp)
    if age > tolerance:
        raise SignatureError(TOO_OLD.format(timestamp=timestamp, age=age, tolerance=tolerance))
    return timestamp
