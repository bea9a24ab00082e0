"""The response headers an operation declares (OpenAPI `responses.<code>.headers`), compiled
into the values the mock sends.

Each declared header gets, in this order:

- `x-value` (success response only): a value expression that sees the request and the record
  (`$text:/v1/things/{record.id}` for a `Location`, `$now`, `$record.id`);
- the header's `example` (or its first `examples` entry), else its schema's `example`,
  `default` or first `enum` value (a rate limit's `X-RateLimit-Limit: 100`);
- a stand-in from its schema: a fresh UUID for `format: uuid` (a request id), the clock for
  `format: date-time`, the `minimum` (or 0) of an integer or a number, `true` for a boolean.

A header none of these can give a value (a string with no example or known format) is
refused when the spec loads, naming the response and the header. `Content-Type` is not a
header declaration (OpenAPI 3.0.3, Response Object: it SHALL be ignored), so it is refused too.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kycspec.expressions import Context, Value, compile_value, format_time
from kycspec.problems import NodeError, placed
from kycspec.types import JSON

NO_VALUE = (
    "response {code} header {name!r}: no value to send; give it an x-value, an example, or a "
    "schema with an example, default, enum or a format (uuid, date-time), or make it an integer, "
    "number or boolean"
)
VALUE_ON_ERROR = (
    "response {code} header {name!r}: x-value is for the success response (an error response "
    "has no record); give an example or a schema instead"
)
CONTENT_TYPE = (
    "response {code} declares a Content-Type header, which OpenAPI ignores; the media types "
    "of `content` decide it"
)


@dataclass(frozen=True)
class ResponseHeader:
    """One declared header of a response and how its value is made."""

    name: str
    value: Value


DEFAULT = 0  # the key of the `default` response; a range (`4XX`) is under its digit (4)


def _key(code: Any) -> int | None:
    """The key of a response code: `404` is 404, `4XX` is 4, `default` is `DEFAULT`."""
    text = str(code).upper()
    if text.isdigit():
        return int(text)
    if len(text) == 3 and text[0] in "12345" and text[1:] == "XX":
        return int(text[0])
    return DEFAULT if text == "DEFAULT" else None


def compile_headers(
    responses: Mapping[str, Any], success: int
) -> dict[int, tuple[ResponseHeader, ...]]:
    """The declared headers of each response (refs inlined), by status code; a range (`4XX`)
    under its first digit and `default` under `DEFAULT`. A response declaring none has an
    empty entry.

    Raises `NodeError` (`NO_VALUE`, `CONTENT_TYPE`, `VALUE_ON_ERROR`, or an unknown expression)
    below the operation for a header with no value to send, or one that cannot have the one it
    declares.
    """
    found: dict[int, tuple[ResponseHeader, ...]] = {}
    for code, response in responses.items():
        key = _key(code)
        if key is None:
            continue
        headers = []
        for name, header in (response.get("headers") or {}).items():
            at = ("responses", code, "headers", name)
            if name.lower() == "content-type":
                raise NodeError(CONTENT_TYPE.format(code=code), at)
            if "x-value" in header and key != success:
                raise NodeError(VALUE_ON_ERROR.format(code=code, name=name), (*at, "x-value"))
            value = placed(_value_of, header, *at)
            if value is None:
                raise NodeError(NO_VALUE.format(code=code, name=name), at)
            headers.append(ResponseHeader(name, value))
        found[key] = tuple(headers)
    return found


def headers_for_status(
    declared: Mapping[int, tuple[ResponseHeader, ...]], status: int
) -> tuple[ResponseHeader, ...]:
    """The headers an answer with `status` carries by declaration: its response's (OpenAPI 3.0.3
    §4.7.16, Responses Object: the exact code, else its range, else `default`); for an error
    status with no response of its own, the headers every declared error response shares (the
    API's convention, such as a `Request-Id` on every answer: `shared_headers`)."""
    for key in (status, status // 100, DEFAULT):
        if key in declared:
            return declared[key]
    return shared_headers([declared]) if status >= 400 else ()


def shared_headers(
    declared: Iterable[Mapping[int, tuple[ResponseHeader, ...]]],
) -> tuple[ResponseHeader, ...]:
    """The headers (by name, case aside) that every error response (4xx, 5xx, their ranges,
    `default`) of the given operations' declarations declares; none if there is no such response.
    """
    groups = [
        headers
        for responses in declared
        for key, headers in responses.items()
        if key >= 400 or key in (4, 5, DEFAULT)
    ]
    if not groups:
        return ()
    names = set.intersection(*({h.name.lower() for h in group} for group in groups))
    return tuple(h for h in groups[0] if h.name.lower() in names)


def header_fields(headers: tuple[ResponseHeader, ...], ctx: Context) -> dict[str, str]:
    """The field values to send (a header whose value is null is left out)."""
    fields = {}
    for header in headers:
        value = header.value(ctx)
        if value is not None:
            fields[header.name] = _text(value)
    return fields


def _text(value: JSON) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value_of(header: Mapping[str, Any]) -> Value | None:
    if "x-value" in header:
        return compile_value(header["x-value"])
    schema = header.get("schema") or {}
    for given in (header.get("example"), _first_example(header), schema.get("example")):
        if given is not None:
            return _literal(given)
    if schema.get("default") is not None:
        return _literal(schema["default"])
    if schema.get("enum"):
        return _literal(schema["enum"][0])
    return _stand_in(schema)


def _first_example(header: Mapping[str, Any]) -> JSON:
    examples = header.get("examples") or {}
    first = next(iter(examples.values()), None)
    return first.get("value") if isinstance(first, Mapping) else None


def _literal(value: JSON) -> Value:
    return lambda ctx: value


def _stand_in(schema: Mapping[str, Any]) -> Value | None:
    kind, fmt = schema.get("type"), schema.get("format")
    if fmt == "uuid":
        return lambda ctx: str(uuid.uuid4())
    if fmt == "date-time":
        return lambda ctx: format_time(ctx.now, "rfc3339")
    if kind in ("integer", "number"):
        return _literal(schema.get("minimum", 0))
    if kind == "boolean":
        return _literal(True)
    return None
