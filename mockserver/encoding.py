"""Response bodies as JSON bytes."""

import json
from typing import Any

import orjson


def dump_json(body: Any) -> bytes:
    """JSON bytes, fast; a body orjson refuses (an integer beyond 64 bits or a lone surrogate,
    which a client may send and have stored) is written by the standard library instead, with
    `\\u` escapes (RFC 8259 sections 6 and 7 allow both)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":")).encode()
