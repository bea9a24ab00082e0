"""Values and conditions, the small expression language of the `x-` extensions.

A value is JSON; a string starting with `$` is an expression (`$now+7d`, `$body.a.b`,
`$id:ver_{lower:12}`, `$count:documents`, `$text:/things/{record.id}`, `$record`). A
condition maps a path (`record.x`, `body.a.b`) to a test. Both are compiled once, when the
spec is loaded, into plain callables.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from kycspec.idformat import generate_id, id_pattern
from kycspec.problems import NodeError, placed
from kycspec.types import JSON

ROOTS = frozenset(
    {
        # request and caller
        "body",
        "path",
        "query",
        "header",
        "auth",
        # records and list pages
        "record",
        "items",
        "item",
        "has_more",
        "next_cursor",
        "total",
        "page",
        "limit",
        # a webhook event (`x-webhooks` payloads) or a feed entry (`records`): the state change
        "event",
        # error envelopes
        "status",
        "code",
        "title",
        "detail",
    }
)
# What `$auth.x` may show of the caller: derived, stable ids, never the key it sent.
AUTH_FIELDS = ("actor", "organization")
_NOW = re.compile(r"^\$now(?:\+(\d+)([smhd]))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
BAD_TIME = (
    "unknown expression {text!r}: the clock is `$now`, or `$now+<n><unit>` with a whole number "
    "and one unit letter: s, m, h or d (`$now+7d`, `$now+60s`)"
)
FORMS = "$now, $now+<n><s|m|h|d>, $id:<format>, $count:<field>, $text:<template>"
NOT_A_PATTERN = "{arg!r} is not a regular expression ({error}); allowed: a Python `re` pattern"
UNKNOWN_EXPRESSION = "unknown expression {text!r}: {problem}; the other forms are {forms}"


# RFC 3339 §5.6 date-time; "T" and "Z" may be lower case (§5.6, note).
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$",
    re.ASCII,
)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(microsecond=0, tzinfo=UTC)


TIME_FORMATS = ("rfc3339", "unix")  # a resource's `timestamps.format`


def format_time(moment: datetime, fmt: str) -> JSON:
    """A timestamp in a resource's format: Unix seconds or RFC 3339 (UTC, whole seconds)."""
    if fmt == "unix":
        return int(moment.timestamp())
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_time(value: JSON) -> datetime:
    """The UTC instant of a timestamp: Unix seconds, or an RFC 3339 §5.6 `date-time` (any
    offset, `T`/`Z` in either case, a leap second `:60` read as the next second as POSIX time
    does, fractions beyond microseconds cut).

    Raises ValueError for anything else, and for instants outside `EARLIEST`..`LATEST` (what a
    `datetime` can hold once brought to UTC: `9999-12-31T23:59:59-05:00` is not one).
    """
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        match = _DATE_TIME.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"not an RFC 3339 date-time: {value!r}")
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        fraction, offset = match.group(7), match.group(8)
        if offset in ("Z", "z"):
            zone = UTC
        else:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(f"not an RFC 3339 offset: {offset!r}")
            sign = -1 if offset[0] == "-" else 1
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        leap = second == 60
        moment = datetime(year, month, day, hour, minute, 59 if leap else second, micro, zone)
        return (moment + timedelta(seconds=1) if leap else moment).astimezone(UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"outside the representable range: {value!r}") from exc


@dataclass
class Context:
    """What an expression can see: the request, the caller, the record, the clock."""

    now: datetime
    time_format: str = "rfc3339"
    values: dict[str, Any] = field(default_factory=dict)

    def lookup(self, root: str, path: tuple[str, ...]) -> JSON:
        current: Any = self.values.get(root)
        for key in path:
            if type(current) is dict and key in current:  # the usual case, without `_get`
                current = current[key]
            elif isinstance(current, Mapping):
                current = _get(current, key, case_insensitive=root == "header")
            else:
                current = getattr(current, key, None)
            if current is None:
                return None
        return current


def _get(mapping: Mapping[str, Any], key: str, *, case_insensitive: bool) -> Any:
    if key in mapping:
        return mapping[key]
    if case_insensitive:
        lowered = key.lower()
        for name, value in mapping.items():
            if name.lower() == lowered:
                return value
    return None


Value = Callable[[Context], JSON]


def compile_value(spec: JSON) -> Value:
    """Compile a value (JSON with `$` expressions) into a function of the context.

    Raises `NodeError` for an expression the language does not have, `where` it is in `spec`.
    """
    if isinstance(spec, dict):
        parts = compile_values(spec)
        return lambda ctx: {key: part(ctx) for key, part in parts.items()}
    if isinstance(spec, list):
        items = [placed(compile_value, item, index) for index, item in enumerate(spec)]
        return lambda ctx: [item(ctx) for item in items]
    if isinstance(spec, str) and spec.startswith("$"):
        return _compile_expression(spec)
    return lambda ctx: spec


def compile_values(spec: Mapping[str, JSON]) -> dict[str, Value]:
    """Each value of a mapping compiled (`compile_value`); a `NodeError` names its key."""
    return {key: placed(compile_value, item, key) for key, item in spec.items()}


def _compile_expression(text: str) -> Value:
    now = _NOW.match(text)
    if now:
        amount, unit = now.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)}) if unit else timedelta()
        return lambda ctx: format_time(ctx.now + delta, ctx.time_format)
    if re.match(r"^\$now\b", text):
        raise NodeError(BAD_TIME.format(text=text))
    if text.startswith("$id:"):
        fmt = text[4:]
        try:
            id_pattern(fmt)  # rejects a bad format at load time
        except ValueError as exc:
            raise NodeError(f"{text!r}: {exc}") from None
        return lambda ctx: generate_id(fmt)
    if text.startswith("$text:"):
        try:
            return _compile_text(text[6:])
        except ValueError as exc:
            raise NodeError(f"{text!r}: {exc}") from None
    if text.startswith("$count:"):
        name = text[7:]

        def count(ctx: Context) -> int:
            value = ctx.lookup("record", (name,))
            return len(value) if isinstance(value, list | dict) else 0

        return count
    try:
        root, keys = split_path(text[1:])
    except ValueError as exc:
        problem = UNKNOWN_EXPRESSION.format(text=text, problem=exc, forms=FORMS)
        raise NodeError(problem) from None
    return lambda ctx: ctx.lookup(root, keys)


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def text_parts(template: str) -> tuple[list[str], list[tuple[str, tuple[str, ...]]]]:
    """A `$text:` template (without the prefix) as its fixed pieces and the paths between them:
    `a{record.id}b` is (["a", "b"], [("record", ("id",))]); there is one piece more than paths."""
    paths = [split_path(name) for name in _PLACEHOLDER.findall(template)]
    return _PLACEHOLDER.split(template)[::2], paths


def _compile_text(template: str) -> Value:
    """`$text:/applicants/{record.id}`: the text with each `{path}` replaced by the value at
    that path (an absent value is empty), for values that are no single field (`Location`)."""
    pieces, paths = text_parts(template)

    def text(ctx: Context) -> str:
        values = ["" if (v := ctx.lookup(root, keys)) is None else str(v) for root, keys in paths]
        return "".join(piece + value for piece, value in zip(pieces, [*values, ""], strict=True))

    return text


Test = Callable[[JSON, Context], bool]
Condition = Callable[[Context], bool]
TEST_KINDS = ("equals", "in", "prefix", "pattern")


def compile_test(spec: JSON) -> Test:
    """One test of a condition: a plain value (equals), or `{equals|in|prefix|pattern: arg}`.

    The argument of `in` may be an expression (`{in: $record.requiredDocuments}`), so a rule can
    compare a request with the record it acts on.
    """
    if not (isinstance(spec, dict) and len(spec) == 1):
        return lambda value, ctx: value == spec
    ((kind, arg),) = spec.items()
    if kind not in TEST_KINDS:
        raise ValueError(f"unknown test {kind!r}; known: {', '.join(TEST_KINDS)}")
    if kind == "equals":
        return lambda value, ctx: value == arg
    if kind == "in":
        allowed = compile_value(arg)
        # Membership of a list (or an object's keys), never a substring: `PENDING` is not
        # in `PENDING_REVIEW`.
        return lambda value, ctx: _member(value, allowed(ctx))
    if kind == "prefix":
        return lambda value, ctx: isinstance(value, str) and value.startswith(arg)
    try:
        regex = re.compile(arg)
    except (re.error, TypeError) as exc:
        raise NodeError(NOT_A_PATTERN.format(arg=arg, error=exc), ("pattern",)) from None
    return lambda value, ctx: isinstance(value, str) and regex.search(value) is not None


def _member(value: JSON, allowed: JSON) -> bool:
    if not isinstance(allowed, list | dict):
        return False
    try:
        return value in allowed
    except TypeError:  # an unhashable value against an object's keys
        return False


def split_path(path: str) -> tuple[str, tuple[str, ...]]:
    """`body.a.b` -> (`body`, (`a`, `b`)), checking the root (and what `auth` may show)."""
    root, *rest = path.split(".")
    if root not in ROOTS:
        raise ValueError(f"unknown path root in {path!r}; allowed: {', '.join(sorted(ROOTS))}")
    if root == "auth" and tuple(rest) not in {(name,) for name in AUTH_FIELDS}:
        raise ValueError(f"{path!r}: the caller shows only {', '.join(AUTH_FIELDS)}")
    return root, tuple(rest)


def _check(entry: tuple[str, JSON]) -> tuple[tuple[str, tuple[str, ...]], Test]:
    path, test = entry
    return split_path(path), compile_test(test)


def compile_condition(spec: Mapping[str, JSON]) -> Condition:
    """A condition: every `path: test` entry must hold."""
    checks = [placed(_check, (path, test), path) for path, test in spec.items()]
    if len(checks) == 1:
        (((root, keys), test),) = checks
        return lambda ctx: test(ctx.lookup(root, keys), ctx)
    return lambda ctx: all(test(ctx.lookup(root, keys), ctx) for (root, keys), test in checks)
