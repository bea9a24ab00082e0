"""Response bodies as JSON bytes."""

import json
from typing import Any

import orjson


def dump_json(body: Any) -> bytes:
    """JSON bytes, fast; a body orjson refuses (an integer beyond 64 bits, which a client may
    send and have stored) is written by the standard library instead (RFC 8259 section 6 sets
    no limit on numbers)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
