"""Hypothesis strategies for raw HTTP requests to one API, derived from its spec alone.

Every request aims at one of the spec's operations and then goes wrong in some of the ways real
clients and proxies go wrong: odd methods, mutated paths (percent-encodings, dot segments, very
long or non-ASCII segments), parameters that are missing, repeated or malformed, header fields
that are duplicated, padded, folded, huge or not Latin-1, content types in any case with any
parameters, content codings, and bodies that are only sometimes shaped like the schema
(truncated JSON, other character encodings, gzip of good and bad data, deep nesting, huge
numbers, lone surrogates, broken forms and multiparts). Nothing here names a vendor: a new spec
is fuzzed the same way.
"""

import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from kycspec.loader import inline_refs
from kycspec.model import ApiSpec, Operation
from tests.mockserver.rawhttp import RawRequest

HOST = b"127.0.0.1"
USER_TOKEN = "test_fuzz"
ADMIN_TOKEN = "admin_fuzz"
SANDBOX = "fuzz"
STANDARD_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
ODD_METHODS = ["get", "Post", "PROPFIND", "MKCOL", "BREW", "QUERY", "PURGE", "X-CUSTOM", "M-SEARCH"]
BAD_METHODS = ["GE T", "GET\x00", "G\xc9T", "", "GET/"]
SEGMENTS = [
    ".",
    "..",
    "%2e%2e",
    "%2E",
    "%2F",
    "%00",
    "%ff%fe",
    "%ED%A0%80",  # UTF-8 of a lone surrogate
    "%",
    "%zz",
    "é",
    "%C3%A9",
    "日本",
    " ",
    "a b",
    "'; DROP TABLE",
    "{id}",
    "null",
    "-1",
    "0",
]
MEDIA_PARAMETERS = [
    "",
    "; charset=utf-8",
    ";charset=UTF-8",
    " ; charset=utf-8",
    "; charset=latin-1",
    "; charset=utf-16",
    '; charset="utf-8"',
    "; boundary=xyz",
    "; q=0.5",
    ";",
    "; ===",
]
GARBAGE_MEDIA_TYPES = [
    "",
    "*/*",
    "text/plain",
    "application/",
    "/json",
    "application/xml",
    "application/merge-patch+json",
    "application/json-seq",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "application/x-www-form-urlencoded; charset=iso-8859-1",
    "ü/ü",
    "application/json, text/plain",
]
CODINGS = ["gzip", "deflate", "br", "identity", "x-gzip", "gzip, gzip", "compress", "zstd", "?"]
ACCEPTS = ["*/*", "application/json", "application/*", "text/html", "application/xml", "*/*;q=0"]
OTHER_HEADERS = [
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Origin",
    "Referer",
    "Cookie",
    "If-Match",
    "If-None-Match",
    "Range",
    "Expect",
    "Forwarded",
    "X-Request-ID",
    "Idempotency-Key",
    "Access-Control-Request-Method",
    "Upgrade",
]
WEIRD_VALUES = [b"", b" ", b"\t", b"\xff\xfe", b"\xc3\xa9", b"\xe6\x97\xa5", b"a\r\n b", b"\x00"]


@dataclass(frozen=True)
class Target:
    """What a request aims at: the operation, or None for a path the spec does not declare."""

    operation: Operation | None
    request: RawRequest


def _example_bodies(spec: ApiSpec, op: Operation) -> dict[str, list[Any]]:
    body = inline_refs(spec.document, op.raw.get("requestBody", {}))
    found: dict[str, list[Any]] = {}
    for media_type, content in body.get("content", {}).items():
        values = [e.get("value") for e in content.get("examples", {}).values()]
        if "example" in content:
            values.append(content["example"])
        found[media_type] = [v for v in values if v is not None]
    return found


_SHAPED: dict[tuple[str, str, int], st.SearchStrategy[Any]] = {}


def shaped(spec: ApiSpec, schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that follow a JSON schema's main keywords (and sometimes its example)."""
    key = (spec.name, json.dumps(schema, sort_keys=True, default=str), depth)
    found = _SHAPED.get(key)
    if found is None:
        found = _SHAPED[key] = _shaped(spec, schema, depth)
    return found


def _shaped(spec: ApiSpec, schema: Any, depth: int) -> st.SearchStrategy[Any]:
    schema = inline_refs(spec.document, schema or {})
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(inline_refs(spec.document, part))
        merged.update({k: v for k, v in schema.items() if k != "allOf"})
        schema = merged
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    choices: list[st.SearchStrategy[Any]] = []
    if "example" in schema:
        choices.append(st.just(schema["example"]))
    if kind == "string":
        if schema.get("format") == "uuid":
            choices.append(st.uuids().map(str))
        elif schema.get("format") == "date-time":
            choices.append(st.datetimes(timezones=st.just(None)).map(lambda d: d.isoformat() + "Z"))
        elif "pattern" in schema:
            choices.append(st.from_regex(schema["pattern"].rstrip("$") + r"\Z", fullmatch=True))
        else:
            low = schema.get("minLength", 0)
            choices.append(st.text(min_size=low, max_size=min(schema.get("maxLength", 24), 24)))
    elif kind == "integer":
        choices.append(st.integers(schema.get("minimum", -(2**40)), schema.get("maximum", 2**40)))
    elif kind == "number":
        choices.append(st.floats(allow_nan=False, allow_infinity=False))
    elif kind == "boolean":
        choices.append(st.booleans())
    elif kind == "array":
        choices.append(st.lists(shaped(spec, schema.get("items"), depth + 1), max_size=3))
    elif kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = [name for name in schema.get("required", []) if name in properties]
        optional = [name for name in properties if name not in required]
        if depth > 3:
            return st.just({})
        choices.append(
            st.fixed_dictionaries(
                {name: shaped(spec, properties[name], depth + 1) for name in required},
                optional={name: shaped(spec, properties[name], depth + 1) for name in optional},
            )
        )
    return st.one_of(choices) if choices else JSON_VALUES


def _json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, lone surrogates and huge integers included."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**30, max_value=10**60),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
        st.sampled_from(["\ud800", "a\udfffb", "\x00", "\u2028", "é" * 40]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


JSON_VALUES = _json_values()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _form_bytes(value: Any) -> bytes:
    if not isinstance(value, dict):
        return _json_bytes(value)
    pairs = [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in value.items()]
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode()


def _multipart(value: Any, boundary: str) -> bytes:
    parts = []
    items = value.items() if isinstance(value, dict) else [("field", value)]
    for name, item in items:
        if isinstance(item, bytes | bytearray):
            head = f'Content-Disposition: form-data; name="{name}"; filename="scan.png"\r\n'
            head += "Content-Type: image/png\r\n"
            data = bytes(item)
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n'
            data = (item if isinstance(item, str) else json.dumps(item)).encode(
                "utf-8", "surrogatepass"
            )
        parts.append(f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


BOUNDARY = "fuzzBoundary7MA4YWxkTrZu0gW"


def _encode(value: Any, media_type: str) -> bytes:
    base = media_type.split(";", maxsplit=1)[0].strip().lower()
    if base == "application/x-www-form-urlencoded":
        return _form_bytes(value)
    if base == "multipart/form-data":
        return _multipart(value, BOUNDARY)
    return _json_bytes(value)


def _binary_fields(spec: ApiSpec, schema: Any) -> set[str]:
    properties = inline_refs(spec.document, schema or {}).get("properties", {})
    return {name for name, sub in properties.items() if sub.get("format") == "binary"}


@st.composite
def _body(draw: Any, spec: ApiSpec, op: Operation | None, wild: bool) -> tuple[bytes, str | None]:
    """A body and the media type it was made for (None: no body)."""
    media_types = list(op.request_media_types) if op else []
    media_type = draw(st.sampled_from(media_types)) if media_types else "application/json"
    examples = _example_bodies(spec, op).get(media_type, []) if op else []
    schema = op.request_schema if op else None
    value_choices: list[st.SearchStrategy[Any]] = [JSON_VALUES] if wild else []
    if schema:
        value_choices.append(shaped(spec, schema))
    if examples:
        value_choices.append(st.sampled_from(examples))
    value = draw(st.one_of(value_choices)) if value_choices else None
    if isinstance(value, dict) and wild and draw(st.booleans()):
        mutation = draw(st.sampled_from(["drop", "add", "replace"]))
        keys = sorted(value)
        if mutation == "drop" and keys:
            value = {k: v for k, v in value.items() if k != draw(st.sampled_from(keys))}
        elif mutation == "add":
            value = {**value, draw(st.text(max_size=10)): draw(JSON_VALUES)}
        elif keys:
            value = {**value, draw(st.sampled_from(keys)): draw(JSON_VALUES)}
    if isinstance(value, dict):
        for name in _binary_fields(spec, schema) & set(value):
            value[name] = draw(st.binary(max_size=64))
    encoded = _encode(value, media_type)
    if not wild:
        return (encoded, media_type) if schema else (b"", None)
    kind = draw(
        st.sampled_from(
            [
                "encoded",
                "encoded",
                "encoded",
                "none",
                "truncated",
                "utf16",
                "latin1",
                "bom",
                "deep",
                "number",
                "surrogate",
                "bytes",
                "repeat",
                "multipart-broken",
                "huge",
            ]
        )
    )
    if kind == "none":
        return b"", None
    if kind == "truncated":
        return encoded[: draw(st.integers(0, max(len(encoded) - 1, 0)))], media_type
    text = encoded.decode("utf-8", "replace")
    if kind == "utf16":
        return text.encode("utf-16", "surrogatepass"), media_type
    if kind == "latin1":
        return text.encode("latin-1", "replace"), media_type
    if kind == "bom":
        return b"\xef\xbb\xbf" + encoded, media_type
    if kind == "deep":
        depth = draw(st.sampled_from([64, 1000, 100_000]))
        opener = draw(st.sampled_from([b"[", b'{"a":']))
        closer = b"]" if opener == b"[" else b"}"
        return opener * depth + b"1" + closer * depth, media_type
    if kind == "number":
        number = draw(
            st.sampled_from(
                [b"1" * 5000, b"1e999999", b"-0", b"NaN", b"Infinity", b"0x10", b"1" * 400 + b".5"]
            )
        )
        if isinstance(value, dict) and value:
            key = json.dumps(draw(st.sampled_from(sorted(value))), ensure_ascii=True).encode()
            return b"{" + key + b":" + number + b"}", media_type
        return number, media_type
    if kind == "surrogate":
        return b'{"a": "\\ud800", "b": "\\udfff\\ud800"}', media_type
    if kind == "bytes":
        return draw(st.binary(max_size=200)), media_type
    if kind == "repeat" and isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        return encoded + b"&" + _form_bytes({key: "again"}), media_type
    if kind == "multipart-broken":
        return encoded.replace(b"--" + BOUNDARY.encode() + b"--", b"")[:-3], media_type
    if kind == "huge":
        return b"x" * (1024 * 1024 + draw(st.integers(1, 10))), media_type
    return encoded, media_type


def _content_type(draw: Any, media_type: str | None, wild: bool) -> list[bytes]:
    if media_type is None:
        return draw(st.sampled_from([[], [b"application/json"]])) if wild else []
    base = media_type
    if not wild:
        boundary = f"; boundary={BOUNDARY}" if base.startswith("multipart/") else ""
        return [(base + boundary).encode()]
    casing = draw(st.sampled_from(["keep", "upper", "title"]))
    if casing == "upper":
        base = base.upper()
    elif casing == "title":
        base = "/".join(part.title() for part in base.split("/"))
    parameter = draw(st.sampled_from(MEDIA_PARAMETERS))
    if base.lower().startswith("multipart/") and draw(st.integers(0, 9)) > 1:
        parameter = f"; boundary={BOUNDARY}"
    good = (base + parameter).encode()
    choice = draw(st.integers(0, 9))
    if choice < 7:
        return [good]
    if choice == 7:
        return []
    if choice == 8:
        return [good, draw(st.sampled_from(GARBAGE_MEDIA_TYPES)).encode()]
    return [draw(st.sampled_from(GARBAGE_MEDIA_TYPES)).encode("utf-8")]


def _compress(draw: Any, body: bytes, wild: bool) -> tuple[bytes, list[bytes]]:
    choice = draw(st.integers(0, 11)) if wild else 0
    if choice < 8:
        return body, []
    coding = draw(st.sampled_from(CODINGS))
    if choice == 8 and coding in ("gzip", "x-gzip"):
        return gzip.compress(body), [coding.encode()]
    if choice == 9 and coding == "deflate":
        return zlib.compress(body), [b"deflate"]
    if choice == 10:
        return gzip.compress(body)[: draw(st.integers(0, 30))], [b"gzip"]
    return body, [coding.encode()]


def _percent(text: str, raw: bool) -> str:
    if raw:
        return text
    return quote(text, safe="", encoding="utf-8", errors="surrogatepass")


def _param_value(
    draw: Any, spec: ApiSpec, param: dict[str, Any], live: list[str], wild: bool
) -> str:
    """A parameter value; `live` ids are picked by a drawn index, so what is drawn never
    depends on the server's state (Hypothesis needs that to replay a case)."""
    shaped_value = draw(shaped(spec, param.get("schema")))
    pick = draw(st.integers(0, 2**16))
    choice = draw(st.integers(0, 9)) if wild else 0
    if live and param.get("in") == "path" and (not wild or choice in (5, 6)):
        return live[pick % len(live)]
    if choice < 7:
        return shaped_value if isinstance(shaped_value, str) else json.dumps(shaped_value)
    if choice == 7:
        return draw(st.sampled_from(SEGMENTS))
    if choice == 8:
        return "x" * draw(st.sampled_from([65, 257, 5000, 70_000]))
    return draw(st.text(max_size=30))


@st.composite
def _path(
    draw: Any, spec: ApiSpec, prefix: str, op: Operation, live: list[str], wild: bool
) -> bytes:
    segments = (spec.base_path + op.path).strip("/").split("/")
    path_params = {p["name"]: p for p in op.parameters if p.get("in") == "path"}
    out: list[str] = []
    for segment in segments:
        if segment.startswith("{") and segment.endswith("}") and segment[1:-1] in path_params:
            value = _param_value(draw, spec, path_params[segment[1:-1]], live, wild)
            out.append(_percent(value, raw=wild and draw(st.integers(0, 9)) == 0))
        else:
            out.append(segment)
    mutation = draw(st.integers(0, 14)) if wild else -1
    if mutation == 0:
        out.append("")  # trailing slash
    elif mutation == 1:
        out.insert(draw(st.integers(0, len(out))), draw(st.sampled_from(SEGMENTS)))
    elif mutation == 2 and out:
        out.pop(draw(st.integers(0, len(out) - 1)))
    elif mutation == 3 and out:
        index = draw(st.integers(0, len(out) - 1))
        out[index] = out[index].upper()
    elif mutation == 4 and out:
        index = draw(st.integers(0, len(out) - 1))
        out[index] = "".join(f"%{ord(c):02X}" if c.isascii() else c for c in out[index])
    elif mutation == 5:
        out.insert(draw(st.integers(0, len(out))), "")  # a double slash
    path = prefix + "/" + "/".join(out)
    return path.encode("utf-8", "surrogatepass")


@st.composite
def _query(draw: Any, spec: ApiSpec, op: Operation, wild: bool) -> bytes:
    params = [p for p in op.parameters if p.get("in") == "query"]
    pairs: list[tuple[str, str]] = []
    for param in params:
        count = draw(st.sampled_from([0, 0, 1, 1, 1, 2] if wild else [0, 1]))
        for _ in range(count):
            pairs.append((param["name"], _param_value(draw, spec, param, [], wild)))
    if not wild:
        return b"?" + urlencode(pairs).encode() if pairs else b""
    if draw(st.integers(0, 5)) == 0:
        pairs.append((draw(st.text(max_size=8)), draw(st.text(max_size=8))))
    if not pairs and draw(st.booleans()):
        return b""
    raw = draw(st.integers(0, 9)) == 0
    query = "&".join(f"{_percent(k, raw)}={_percent(v, raw)}" for k, v in pairs)
    if draw(st.integers(0, 9)) == 0:
        query += draw(st.sampled_from(["&", "&&=", "=", "%", "%zz=1", "a=%ff", "a=%ED%A0%80"]))
    return b"?" + query.encode("utf-8", "surrogatepass")


def _authorization(draw: Any, spec: ApiSpec, op: Operation, wild: bool) -> list[bytes]:
    if not wild:
        return [f"Bearer {ADMIN_TOKEN if op.admin else USER_TOKEN}".encode()]
    tokens = [USER_TOKEN, ADMIN_TOKEN, *spec.tokens]
    choice = draw(st.integers(0, 19))
    token = draw(st.sampled_from(tokens))
    if choice < 14:
        return [f"Bearer {token}".encode()]
    options = [
        [],
        [f"bearer {token}".encode()],
        [f"Bearer  {token}\t".encode()],
        [b"Bearer"],
        [b"Basic dXNlcjpwYXNz"],
        [f"Bearer {token}".encode(), b"Bearer test_other"],
        [b"Bearer test_", b"Bearer test_" + "é".encode()],
        [b"Bearer test_" + b"a" * 70],
    ]
    return draw(st.sampled_from(options))


def _header_value(draw: Any, spec: ApiSpec, param: dict[str, Any], wild: bool) -> list[bytes]:
    choice = draw(st.integers(0, 12)) if wild else 0
    value = draw(shaped(spec, param.get("schema")))
    text = (value if isinstance(value, str) else json.dumps(value)).encode("utf-8", "replace")
    if choice < 8:
        return [text]
    if choice == 8:
        return []
    if choice == 9:
        return [b"  " + text + b" "]
    if choice == 10:
        return [text, text]
    if choice == 11:
        return [b"x" * draw(st.sampled_from([513, 20_000]))]
    return [draw(st.sampled_from(WEIRD_VALUES))]


@st.composite
def requests(draw: Any, spec: ApiSpec, prefix: str, live: Callable[[], list[str]]) -> Target:
    """One raw request for the API served under `prefix` (`/<name>` in the multi-API mock).

    `live` gives the record ids the sandbox holds now, so path ids sometimes name real records.
    """
    operations = sorted(spec.operations.values(), key=lambda o: o.operation_id)
    op = draw(st.sampled_from(operations))
    wild = draw(st.integers(0, 2)) > 0  # else a request a careful client would send
    method_choice = draw(st.integers(0, 19)) if wild else 0
    if method_choice < 14:
        method = op.method.upper()
    elif method_choice < 17:
        method = draw(st.sampled_from(STANDARD_METHODS))
    elif method_choice < 19:
        method = draw(st.sampled_from(ODD_METHODS))
    else:
        method = draw(st.sampled_from(BAD_METHODS))
    target = draw(_path(spec, prefix, op, live(), wild)) + draw(_query(spec, op, wild))
    headers: list[tuple[bytes, bytes]] = []
    host_choice = draw(st.integers(0, 29)) if wild else 2
    if host_choice:
        headers.append((b"Host", HOST))
    if host_choice == 1:
        headers.append((b"Host", b"example.com"))
    headers += [(b"Authorization", value) for value in _authorization(draw, spec, op, wild)]
    for param in op.parameters:
        if param.get("in") == "header":
            values = _header_value(draw, spec, param, wild)
            headers += [(param["name"].encode(), value) for value in values]
    body, media_type = draw(_body(spec, op, wild))
    if method in ("GET", "HEAD", "DELETE") and (not wild or draw(st.integers(0, 4))):
        body, media_type = b"", None
    headers += [(b"Content-Type", value) for value in _content_type(draw, media_type, wild)]
    body, codings = _compress(draw, body, wild)
    headers += [(b"Content-Encoding", value) for value in codings]
    if not wild:
        return Target(op, RawRequest(method.encode(), target, tuple(headers), body))
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(OTHER_HEADERS)).encode()
        if name == b"Accept":
            value = draw(st.sampled_from(ACCEPTS)).encode()
        else:
            value = draw(st.sampled_from([b"1", b"*", b"gzip", b"https://x.test", *WEIRD_VALUES]))
        headers.append((name, value))
    if draw(st.integers(0, 9)) == 0:
        headers.append((b"Prefer", draw(_prefer(op))))
    if draw(st.integers(0, 19)) == 0:
        name = draw(st.sampled_from([b"X Bad", b"X-\xc3\xa9", b"", b"X:Y", b"X-Ok"]))
        headers.append((name, draw(st.sampled_from(WEIRD_VALUES))))
    if len(headers) > 1 and draw(st.integers(0, 9)) == 0:
        order = draw(st.permutations(range(len(headers))))
        headers = [headers[i] for i in order]
    request = RawRequest(
        method=method.encode("utf-8"),
        target=target,
        headers=tuple(headers),
        body=body,
        chunked=bool(body) and draw(st.integers(0, 9)) == 0,
    )
    return Target(op, request)


@st.composite
def _prefer(draw: Any, op: Operation) -> bytes:
    # A declared 5xx asked for (Prism's `Prefer: code=500`) is a 5xx on purpose: not asked.
    declared = [str(code) for code in op.raw.get("responses", {}) if not str(code).startswith("5")]
    value = draw(
        st.sampled_from(
            [
                *(f"code={code}" for code in declared),
                "code=299",
                "code=abc",
                "example=docs",
                "example=nope",
                "delay=1",
                "delay=-5",
                "delay=1e9x",
                "respond-async, wait=1",
                "code=404, code=200",
                ";;;",
            ]
        )
    )
    return value.encode()
