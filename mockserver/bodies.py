"""Request bodies decoded once, strictly, by one rule each: content codings, JSON, urlencoded.

- Content codings (RFC 9110 §8.4.1): `gzip` (and `x-gzip`), `deflate` (zlib, RFC 1950, or the
  raw RFC 1951 stream some clients send) and `identity` are decoded, in reverse order of
  listing; the decoded body must fit the body size limit too (so a compression bomb is a 413).
  Any other coding is a 415 (RFC 9110 §15.5.16).
- JSON (RFC 8259): UTF-8 without a byte order mark (§8.1); no lone surrogate escapes (§8.2),
  since such a string cannot be stored or sent back as UTF-8; each member name once per object
  (§4); at most `MAX_JSON_DEPTH` nested arrays and objects; integers within the signed 64-bit
  range and other numbers finite doubles (§6). Anything else is a 400.
- `application/x-www-form-urlencoded` (WHATWG URL, "application/x-www-form-urlencoded
  parsing"): `&`-separated `name=value` pairs, `+` for space, percent-decoded bytes read as
  UTF-8; bytes that are not UTF-8 are a 400 (WHATWG would substitute U+FFFD, which would
  store something other than what was sent).

A value from a request shown in a message goes through `errors.shown`, so binary or overlong
input is never echoed as it came.
"""

import json
import math
import zlib
from typing import Any
from urllib.parse import unquote_to_bytes

from mockserver import errors
from mockserver.errors import shown

MAX_JSON_DEPTH = 64
MAX_INTEGER = 2**63 - 1
MIN_INTEGER = -(2**63)
# The longest signed 64-bit integer literal; a longer one is out of range without being read
# (reading a huge literal as an int takes time quadratic in its length).
_MAX_INTEGER_CHARS = len(str(MIN_INTEGER))
CODINGS = ("gzip", "x-gzip", "deflate", "identity")


def decode_content(body: bytes, codings: list[str], limit: int) -> bytes:
    """The body with its content codings (in the order the field lists them) undone.

    Raises `errors.UnsupportedMediaType` for an unknown coding, `errors.PayloadTooLarge` when
    the decoded body exceeds `limit` bytes, `errors.InvalidRequest` when the data is corrupt.
    """
    unknown = [coding for coding in codings if coding.lower() not in CODINGS]
    if unknown:
        raise errors.UnsupportedMediaType(
            errors.CODING_UNSUPPORTED.format(coding=shown(unknown[0]), known=", ".join(CODINGS)),
            headers={"Accept-Encoding": "gzip, deflate"},  # RFC 9110 §12.5.3
        )
    for coding in reversed([coding.lower() for coding in codings]):
        if coding == "identity":
            continue
        if coding != "deflate":
            wbits = zlib.MAX_WBITS | 16  # the gzip wrapper (RFC 1952)
        elif len(body) >= 2 and body[0] & 0x0F == 8 and int.from_bytes(body[:2]) % 31 == 0:
            wbits = zlib.MAX_WBITS  # the zlib wrapper (RFC 1950), as RFC 9110 §8.4.1.2 says
        else:
            wbits = -zlib.MAX_WBITS  # a raw RFC 1951 stream
        body = _inflate(body, wbits, limit, coding)
    return body


def _inflate(data: bytes, wbits: int, limit: int, coding: str) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise errors.InvalidRequest(errors.CODING_CORRUPT.format(coding=coding)) from None
    if len(out) > limit:
        raise errors.PayloadTooLarge(errors.BODY_TOO_LARGE.format(limit=limit))
    if not inflater.eof or inflater.unused_data:
        raise errors.InvalidRequest(errors.CODING_CORRUPT.format(coding=coding))
    return out


def load_json(body: bytes) -> Any:
    """The JSON value of a request body, by the rules above (None for an empty body).

    Raises `errors.InvalidRequest` with the message of the rule broken.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        raise errors.InvalidRequest(errors.JSON_BOM)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidRequest(errors.BODY_NOT_UTF8) from None
    if not text.strip():
        return None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_members,
            parse_int=_integer,
            parse_float=_number,
            parse_constant=_constant,
        )
    except RecursionError:
        raise errors.InvalidRequest(errors.JSON_TOO_DEEP.format(limit=MAX_JSON_DEPTH)) from None
    except json.JSONDecodeError:
        raise errors.InvalidRequest(errors.BODY_NOT_JSON) from None
    if _may_break_nesting(body):
        _check_nesting(value)
    return value


def _may_break_nesting(body: bytes) -> bool:
    """Whether a body may hold what `_check_nesting` refuses. A lone surrogate can only come
    from a `\\u` escape (UTF-8 that decoded has none), and a value nests no deeper than the
    body has `[` and `{` bytes; most bodies have neither, and are not walked."""
    return b"\\u" in body or body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise errors.InvalidRequest(errors.JSON_DUPLICATE_MEMBER.format(name=shown(name)))
        found[name] = value
    return found


def _integer(literal: str) -> int:
    if len(literal) > _MAX_INTEGER_CHARS or not MIN_INTEGER <= int(literal) <= MAX_INTEGER:
        raise errors.InvalidRequest(errors.JSON_NUMBER_RANGE.format(number=shown(literal)))
    return int(literal)


def _number(literal: str) -> float:
    value = float(literal)  # linear in the literal's length, which the body limit bounds
    if not math.isfinite(value):
        raise errors.InvalidRequest(errors.JSON_NUMBER_RANGE.format(number=shown(literal)))
    return value


def _constant(literal: str) -> float:
    raise errors.InvalidRequest(errors.BODY_NOT_JSON)


def _check_nesting(value: Any) -> None:
    """Refuse nesting beyond `MAX_JSON_DEPTH` and strings with lone surrogates (names too)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise errors.InvalidRequest(errors.JSON_TOO_DEEP.format(limit=MAX_JSON_DEPTH))
            if isinstance(item, dict):
                stack.extend((name, depth) for name in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidRequest(errors.JSON_LONE_SURROGATE) from None


def is_utf8_url(raw: bytes) -> bool:
    """Whether a raw URL component (path or query string) is UTF-8 once percent-decoded."""
    if raw.isascii() and b"%" not in raw:  # nothing to decode: ASCII is UTF-8
        return True
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_urlencoded(body: bytes) -> dict[str, list[str]]:
    """The fields of an urlencoded body, each with its values in order.

    Raises `errors.InvalidRequest` (`BODY_NOT_UTF8`) when a name or value is not UTF-8.
    """
    fields: dict[str, list[str]] = {}
    for pair in body.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        fields.setdefault(_form_text(name), []).append(_form_text(value))
    return fields


def _form_text(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidRequest(errors.BODY_NOT_UTF8) from None
