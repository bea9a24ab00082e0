"""String formats the specs use that connexion's validation would otherwise let through.

connexion 3.3 validates parameters, bodies and responses with jsonschema's Draft 4 format
checker, which knows `date-time`, `email`, `ipv4`, `ipv6` and `regex` but not `uuid`. Kontorion's
ids and `customer_id` are `format: uuid`, so without this a body with `"customer_id": ""` was
stored and served back, breaking the response schema.
"""

import re

from jsonschema import Draft4Validator

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: object) -> bool:
    """A UUID in its canonical text form (RFC 4122: 8-4-4-4-12 hex digits); non-strings pass."""
    return not isinstance(value, str) or UUID.fullmatch(value) is not None


def register_formats() -> None:
    """Teach the checker connexion uses the formats above (idempotent)."""
    checker = Draft4Validator.FORMAT_CHECKER
    if "uuid" not in checker.checkers:
        checker.checks("uuid")(is_uuid)
