"""String formats the specs use that connexion's validation would otherwise get wrong.

connexion 3.3 validates parameters, bodies and responses with jsonschema's Draft 4 format
checker, which knows `date-time`, `email`, `ipv4`, `ipv6` and `regex` but not `uuid`, `date`,
`uri`, `int32` or `int64` (`2024-13-01` and out-of-range integers were accepted). Kontorion's
ids and `customer_id` are `format: uuid`, so without this a body with `"customer_id": ""` was
stored and served back, breaking the response schema; a `format: date` birth date took
`"not a date"`. Its `date-time` check is the grammar only, so `9999-12-31T23:59:59-05:00`
(past the last instant a timestamp can hold once brought to UTC) passed it and failed later,
as a 500; here `date-time` is what `kycspec.expressions.parse_time` reads (RFC 3339 §5.6
within its range), for requests and for the fixtures the engine checks alike. A `date` is an
RFC 3339 `full-date`, read on its own (`parse_time` takes only full date-times).
"""

import re
from collections.abc import Callable
from datetime import date

from jsonschema import Draft4Validator, FormatChecker
from openapi_schema_validator import oas30_format_checker

from kycspec.expressions import parse_time

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RFC 3986 section 3 and appendix A: a scheme, a colon, then only characters a URI may hold
# (unreserved, reserved, or percent-encoded), with at most one `#` before the fragment.
_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\[\]]|%[0-9A-Fa-f]{2})"
ABSOLUTE_URI = re.compile(rf"^[A-Za-z][A-Za-z0-9+.-]*:{_URI_CHAR}*(?:#{_URI_CHAR}*)?$")


def is_uuid(value: object) -> bool:
    """A UUID in its canonical text form (RFC 4122: 8-4-4-4-12 hex digits); non-strings pass."""
    return not isinstance(value, str) or UUID.fullmatch(value) is not None


def is_date(value: object) -> bool:
    """An RFC 3339 `full-date` (OpenAPI 3.0.3 `format: date`, `2024-01-15`) that exists on the
    calendar; non-strings pass."""
    if not isinstance(value, str):
        return True
    try:
        return FULL_DATE.fullmatch(value) is not None and bool(date.fromisoformat(value))
    except ValueError:
        return False


def is_date_time(value: object) -> bool:
    """An RFC 3339 §5.6 date-time `parse_time` can hold; non-strings pass (JSON Schema)."""
    if not isinstance(value, str):
        return True
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def is_uri(value: object) -> bool:
    """A URI (RFC 3986 section 3: scheme, colon, the rest in the characters of appendix A, so
    `a:<b>` or `https://x/ü` is not one); non-strings pass."""
    return not isinstance(value, str) or ABSOLUTE_URI.fullmatch(value) is not None


def is_int32(value: object) -> bool:
    """OpenAPI 3.0.3 data types: `int32` is a signed 32-bit integer; non-integers pass."""
    return not isinstance(value, int) or -(2**31) <= value < 2**31


def is_int64(value: object) -> bool:
    """OpenAPI 3.0.3 data types: `int64` is a signed 64-bit integer; non-integers pass."""
    return not isinstance(value, int) or -(2**63) <= value < 2**63


FORMATS: dict[str, Callable[[object], bool]] = {
    "uuid": is_uuid,
    "date": is_date,
    "date-time": is_date_time,
    "uri": is_uri,
    "int32": is_int32,
    "int64": is_int64,
}


def register_formats() -> None:
    """Teach the checkers connexion and the engine use the formats above (idempotent)."""
    checkers: tuple[FormatChecker, ...] = (Draft4Validator.FORMAT_CHECKER, oas30_format_checker)
    for checker in checkers:
        for name, check in FORMATS.items():
            checker.checks(name)(check)
