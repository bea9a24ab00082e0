"""Edge inputs for an operation, derived from its spec alone.

Each `EdgeCase` is the operation's plain valid request (`plain_request`: the example body in
one declared media type, the required headers and query parameters) with one thing made
unusual. Some are valid by the RFCs, so a server should answer them as it answers the plain
request (`valid`); the others are invalid at the edges, and may be refused with a 4xx. None may
get a 5xx. The kinds, by requirement check:

- `edge_media_types`: the media type in mixed case, with whitespace around `;`, with a quoted
  parameter after a tab (RFC 9110 §8.3.1: type, subtype and parameter names are
  case-insensitive; §5.6.6: `OWS ";" OWS` between parameters);
- `edge_timestamps`: every `date-time` query parameter and top-level body property with a
  lowercase `t` and `z`, offsets of ±23:59, nanoseconds (all valid, RFC 3339 §5.6), and years
  whose UTC value leaves the range 0001-9999;
- `edge_json`: a lone surrogate escape (RFC 8259 §8.2), nesting 100,000 arrays deep (§9), a
  number with 5,000 digits and one beyond double range (§6), a byte-order mark (§8.1);
- `non_utf8_bodies`: a JSON text or form value that is not UTF-8 (RFC 8259 §8.1; WHATWG URL,
  application/x-www-form-urlencoded parsing), raw and percent-encoded;
- `repeated_parameters`: a scalar query parameter or form field sent twice;
- `content_codings`: the body gzip-compressed with `Content-Encoding: gzip`, and an unknown
  coding (RFC 9110 §8.4: 415 for a coding the server does not support);
- `header_fields`: `Authorization`, `Content-Type` and the required headers with whitespace
  around their values (RFC 9110 §5.5: a recipient excludes it), and the auth scheme in lowercase
  (§11.1: schemes are case-insensitive). These are sent verbatim (`conformance.verbatim`).
"""

import gzip
import json
from dataclasses import dataclass, replace
from typing import Any

import httpx

from conformance.requests import (
    JSON_MEDIA,
    MULTIPART_MEDIA,
    body_kwargs,
    example_value,
    headers_for,
    parameter_example,
)
from conformance.target import Target
from kycspec.formfields import FORM_MEDIA
from kycspec.model import Operation

Query = tuple[tuple[str, str], ...]
MEDIA_TYPES = (JSON_MEDIA, FORM_MEDIA, MULTIPART_MEDIA)
NESTING = 100_000
LONG_NUMBER = "1" + "0" * 5000
BEYOND_DOUBLE = "1e400"
BOM = b"\xef\xbb\xbf"
NOT_UTF8 = "caf\u00e9"  # sent as Latin-1: the byte 0xE9 alone is not UTF-8
UNKNOWN_CODING = "x-conformance-unknown"
# (value, valid by RFC 3339, what is unusual about it)
TIMESTAMPS = (
    ("2024-01-15t10:30:00z", True, "lowercase t and z"),
    ("2024-01-15T10:30:00+23:59", True, "offset +23:59"),
    ("2024-01-15T10:30:00-23:59", True, "offset -23:59"),
    ("2024-01-15T10:30:00.123456789Z", True, "nanoseconds"),
    ("9999-12-31T23:59:59-23:59", False, "a UTC value past year 9999"),
    ("0001-01-01T00:00:00+23:59", False, "a UTC value before year 1"),
)


@dataclass(frozen=True)
class Plain:
    """An operation's plain valid request: headers, query and body bytes."""

    media: str | None
    headers: dict[str, str]
    query: Query = ()
    content: bytes | None = None
    payload: Any = None


@dataclass(frozen=True)
class EdgeCase:
    """The plain request with one thing made unusual (`label` says what)."""

    check: str
    label: str
    valid: bool
    request: Plain
    verbatim: bool = False


def _encode(op: Operation, media: str, payload: Any) -> tuple[str, bytes]:
    """The body as the client would send it: `(Content-Type, bytes)`."""
    if media == JSON_MEDIA:
        return JSON_MEDIA, json.dumps(payload, separators=(",", ":")).encode()
    request = httpx.Request("POST", "http://body.invalid/", **body_kwargs(op, media, payload))
    return request.headers.get("content-type", media), request.read()


def plain_requests(op: Operation, target: Target, token: str | None) -> list[Plain]:
    """The plain request in each declared media type (one, without a body, for body-less ops)."""
    headers = headers_for(op, target, token)
    query = tuple(
        (p["name"], str(parameter_example(p)))
        for p in op.parameters
        if p.get("in") == "query" and p.get("required")
    )
    medias = [m for m in op.request_media_types if m in MEDIA_TYPES]
    if not medias:
        return [Plain(None, headers, query)]
    plains = []
    for media in medias:
        payload = example_value(op.request_schema)
        content_type, content = _encode(op, media, payload)
        plains.append(
            Plain(media, {**headers, "Content-Type": content_type}, query, content, payload)
        )
    return plains


def _with_header(plain: Plain, name: str, value: str) -> Plain:
    kept = {k: v for k, v in plain.headers.items() if k.lower() != name.lower()}
    return replace(plain, headers={**kept, name: value})


def _content_type(plain: Plain) -> str:
    return next(v for k, v in plain.headers.items() if k.lower() == "content-type")


def _media_cases(plain: Plain) -> list[EdgeCase]:
    base, _, params = _content_type(plain).partition(";")
    kind, _, sub = base.partition("/")
    params = params.strip()
    variants = [
        (
            "mixed-case media type",
            f"{kind.capitalize()}/{sub.upper()}" + (f";{params}" if params else ""),
        ),
        ("spaces around ';'", f"{base} ; {params or 'charset=utf-8'}"),
    ]
    if not params:
        variants.append(("a quoted parameter after a tab", f'{base};\tcharset="UTF-8"'))
    return [
        EdgeCase("edge_media_types", label, True, _with_header(plain, "Content-Type", value))
        for label, value in variants
    ]


def _string_field(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    return next((k for k, v in payload.items() if isinstance(v, str)), None)


def _json_with(plain: Plain, name: str, raw: str) -> bytes:
    """The plain JSON body with `name`'s value replaced by the raw JSON text `raw`."""
    marker = "\u0000conformance-marker\u0000"
    text = json.dumps({**plain.payload, name: marker}, separators=(",", ":"))
    return text.replace(json.dumps(marker), raw).encode()


def _json_cases(op: Operation, plain: Plain) -> list[EdgeCase]:
    payload = plain.payload if isinstance(plain.payload, dict) else {}
    properties = (op.request_schema or {}).get("properties", {})
    numeric = next(
        (k for k, s in properties.items() if s.get("type") in ("integer", "number")), None
    )
    first = _string_field(payload) or next(iter(payload), None) or next(iter(properties), "x")
    number_field = numeric or first
    bodies = [
        ("a lone surrogate", _json_with(plain, first, '"\\ud800"')),
        ("nesting 100,000 deep", _json_with(plain, first, "[" * NESTING + "]" * NESTING)),
        ("a number with 5,000 digits", _json_with(plain, number_field, LONG_NUMBER)),
        ("a number beyond double range", _json_with(plain, number_field, BEYOND_DOUBLE)),
        ("a byte-order mark", BOM + (plain.content or b"")),
    ]
    cases = [
        EdgeCase("edge_json", label, False, replace(plain, content=body)) for label, body in bodies
    ]
    cases.append(
        EdgeCase(
            "non_utf8_bodies",
            "a JSON string that is not UTF-8",
            False,
            replace(plain, content=_latin1_json(plain, first)),
        )
    )
    return cases


def _latin1_json(plain: Plain, name: str) -> bytes:
    text = json.dumps({**plain.payload, name: NOT_UTF8}, separators=(",", ":"), ensure_ascii=False)
    return text.encode("latin-1", errors="replace")


def _form_cases(plain: Plain) -> list[EdgeCase]:
    content = plain.content or b""
    pairs = [pair for pair in content.split(b"&") if pair]
    if not pairs:
        return []
    name = pairs[0].split(b"=", 1)[0]
    rest = b"".join(b"&" + pair for pair in pairs[1:])
    return [
        EdgeCase(
            "repeated_parameters",
            "a form field sent twice",
            False,
            replace(plain, content=content + b"&" + pairs[0]),
        ),
        EdgeCase(
            "non_utf8_bodies",
            "a form value with a raw non-UTF-8 byte",
            False,
            replace(plain, content=name + b"=caf\xe9" + rest),
        ),
        EdgeCase(
            "non_utf8_bodies",
            "a percent-encoded form value that is not UTF-8",
            False,
            replace(plain, content=name + b"=caf%E9" + rest),
        ),
    ]


def _coding_cases(plain: Plain) -> list[EdgeCase]:
    gzipped = _with_header(
        replace(plain, content=gzip.compress(plain.content or b"")), "Content-Encoding", "gzip"
    )
    unknown = _with_header(plain, "Content-Encoding", UNKNOWN_CODING)
    return [
        EdgeCase("content_codings", "a gzip-encoded body", False, gzipped),
        EdgeCase("content_codings", "an unknown content coding", False, unknown),
    ]


def _timestamp_cases(op: Operation, plain: Plain) -> list[EdgeCase]:
    cases = []
    for param in op.parameters:
        if param.get("in") == "query" and param.get("schema", {}).get("format") == "date-time":
            for value, valid, label in TIMESTAMPS:
                query = (*plain.query, (param["name"], value))
                cases.append(
                    EdgeCase(
                        "edge_timestamps",
                        f"{param['name']}: {label}",
                        valid,
                        replace(plain, query=query),
                    )
                )
    properties = (op.request_schema or {}).get("properties", {})
    if plain.media in (JSON_MEDIA, FORM_MEDIA) and isinstance(plain.payload, dict):
        for name, schema in properties.items():
            if schema.get("format") != "date-time" or schema.get("readOnly"):
                continue
            for value, valid, label in TIMESTAMPS:
                _, content = _encode(op, plain.media, {**plain.payload, name: value})
                cases.append(
                    EdgeCase(
                        "edge_timestamps",
                        f"{name}: {label}",
                        valid,
                        replace(plain, content=content),
                    )
                )
    return cases


def _query_cases(op: Operation, plain: Plain) -> list[EdgeCase]:
    scalar = next(
        (
            p
            for p in op.parameters
            if p.get("in") == "query"
            and p.get("schema", {}).get("type") in ("string", "integer", "number", "boolean")
        ),
        None,
    )
    if scalar is None:
        return []
    value = str(parameter_example(scalar))
    query = (*plain.query, (scalar["name"], value), (scalar["name"], value))
    return [
        EdgeCase(
            "repeated_parameters",
            f"the query parameter {scalar['name']} sent twice",
            False,
            replace(plain, query=query),
        )
    ]


def _header_cases(plain: Plain) -> list[EdgeCase]:
    cases = []
    for name, value in plain.headers.items():
        if name.lower() == "authorization":
            scheme, _, credentials = value.partition(" ")
            cases.append(
                EdgeCase(
                    "header_fields",
                    "the auth scheme in lowercase",
                    True,
                    _with_header(plain, name, f"{scheme.lower()} {credentials}"),
                )
            )
        cases.append(
            EdgeCase(
                "header_fields",
                f"whitespace around the {name} value",
                True,
                _with_header(plain, name, f" \t{value} \t"),
                verbatim=True,
            )
        )
    return cases


def edge_cases(op: Operation, target: Target, token: str | None) -> list[tuple[Plain, EdgeCase]]:
    """Every edge case of the operation, each with the plain request it varies."""
    cases: list[tuple[Plain, EdgeCase]] = []
    for plain in plain_requests(op, target, token):
        found = _header_cases(plain) + _timestamp_cases(op, plain)
        if plain.media is None:
            found += _query_cases(op, plain)
        else:
            found += _media_cases(plain) + _coding_cases(plain)
        if plain.media == JSON_MEDIA:
            found += _json_cases(op, plain)
        if plain.media == FORM_MEDIA:
            found += _form_cases(plain)
        cases += [(plain, case) for case in found]
    return cases
