"""Numbers JSON parsers are expected to read alike (RFC 8259 section 6, RFC 7493 section 2.2).

JSON parsers keep IEEE 754 double precision, and RFC 8259 lets an implementation set limits on
the range of the numbers it accepts; an integer beyond +-(2**53 - 1) or a number beyond double
range may therefore be refused. Valid data carrying one proves nothing when it is refused.
"""

import math
from typing import Any

INTEROPERABLE_INTEGER = 2**53 - 1  # RFC 7493 section 2.2


def interoperable(value: Any) -> bool:
    """Whether every number in the value (nested dicts, lists and tuples) interoperates."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= INTEROPERABLE_INTEGER
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(interoperable(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(interoperable(item) for item in value)
    return True
