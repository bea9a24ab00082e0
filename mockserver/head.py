"""The request head, read once per request by one set of rules (RFC 9110, RFC 9112, RFC 7240).

Every layer of the mock (the edge, connexion's security and validation, the engine, `Prefer`)
reads header fields only as this module leaves them, so the answer does not depend on which
HTTP parser uvicorn runs (httptools or h11) or on which layer reads which line:

- names are case-insensitive (RFC 9110 §5.1) and kept in lower case;
- a field value's leading and trailing whitespace (SP, HTAB) is not part of it (RFC 9112 §5.1);
- a field sent on several lines is one field whose value is the lines joined by ", " (RFC 9110
  §5.3), which is what a list-valued field (`Prefer`, `Accept`, `Content-Encoding`) means; a
  field whose grammar is a single value (`Authorization`, `Content-Type`) sent twice with
  different values is ambiguous, and `RequestHead.repeated` names it so the edge can refuse it;
- a media type (`Content-Type`) is compared case-insensitively, with optional whitespace around
  its `;` parameters (RFC 9110 §8.3.1); it is handed on in one canonical spelling,
  `type/subtype; name=value`, since connexion picks a body validator by its exact string.
"""

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

HEAD = "mockserver.head"
"""The scope key under which the request's `RequestHead` is kept."""

_OWS = " \t"
# RFC 9110 §5.6.2 token and §5.6.4 quoted-string.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
# Parameters: `;` then, optionally, whitespace and `name=value`; the whitespace before a `;`
# belongs to no parameter, so no stretch of blanks can be read two ways (no backtracking blow-up).
_MEDIA_TYPE = re.compile(
    rf"^({_TOKEN})/({_TOKEN})((?:[ \t]*;(?:[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))?)*)$"
)
_PARAMETER = re.compile(rf"[ \t]*;[ \t]*(?:({_TOKEN})=({_TOKEN}|{_QUOTED}))?")
# Fields whose value is a single item: a second, different line makes the request ambiguous.
SINGLE_VALUED = frozenset({"authorization", "content-type", "content-length", "host"})
# Fields whose grammar is a list (RFC 9110, RFC 7240, RFC 7239 and the de-facto
# X-Forwarded-For): several lines are simply more elements.
LIST_VALUED = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "content-encoding",
        "forwarded",
        "prefer",
        "te",
        "transfer-encoding",
        "via",
        "x-forwarded-for",
    }
)


@dataclass(frozen=True)
class MediaType:
    """A media type (RFC 9110 §8.3.1): type and subtype in lower case, parameters in order with
    lower-case names (a `charset` value in lower case too, as it is case-insensitive)."""

    type: str
    subtype: str
    parameters: tuple[tuple[str, str], ...] = ()

    @property
    def essence(self) -> str:
        """`type/subtype`."""
        return f"{self.type}/{self.subtype}"

    def parameter(self, name: str) -> str | None:
        return next((value for key, value in self.parameters if key == name), None)

    def __str__(self) -> str:
        shown = "".join(f"; {key}={_quote(value)}" for key, value in self.parameters)
        return self.essence + shown


def parse_media_type(text: str) -> MediaType | None:
    """The media type a `Content-Type` value (or an `Accept` element) names, or None when it
    does not follow the grammar."""
    match = _MEDIA_TYPE.match(text.strip(_OWS))
    if match is None:
        return None
    parameters = []
    for found in _PARAMETER.finditer(match.group(3)):
        name, value = found.groups()
        if name is None:
            continue
        name = name.lower()
        value = _unquote(value)
        parameters.append((name, value.lower() if name == "charset" else value))
    return MediaType(match.group(1).lower(), match.group(2).lower(), tuple(parameters))


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _quote(value: str) -> str:
    if re.fullmatch(_TOKEN, value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_list(value: str) -> list[str]:
    """The elements of a list-valued field (RFC 9110 §5.6.1), commas inside quotes kept, empty
    elements dropped."""
    if not value:
        return []
    items = [item.strip(_OWS) for item in re.findall(r'(?:[^,"]|"(?:[^"\\]|\\.)*"?)+', value)]
    return [item for item in items if item]


def parse_preferences(value: str) -> dict[str, str]:
    """The preferences of a `Prefer` field (RFC 7240 §2): `name[=value]` items in lower-case
    names, quotes removed; `;` separates items as `,` does (Prism's `code=404; example=x`);
    a preference given twice counts once, the first time (RFC 7240 §2)."""
    found: dict[str, str] = {}
    for item in split_list(value.replace(";", ",")):
        name, _, given = item.partition("=")
        name = name.strip(_OWS).lower()
        if name and name not in found:
            found[name] = _unquote(given.strip(_OWS))
    return found


_QUALITY = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


@dataclass(frozen=True)
class MediaRange:
    """One element of `Accept` (RFC 9110 §12.5.1): a media range and its weight."""

    range: MediaType
    weight: float

    @property
    def specificity(self) -> int:
        """0 for `*/*`, 1 for `type/*`, 2 for `type/subtype`, 3 with parameters too."""
        if self.range.type == "*":
            return 0
        if self.range.subtype == "*":
            return 1
        return 3 if self.range.parameters else 2

    def matches(self, offered: MediaType) -> bool:
        """Whether `offered` is in the range. The mock's bodies are UTF-8, so a range's
        `charset=utf-8` is met by a type that names no charset."""
        if self.range.type not in ("*", offered.type):
            return False
        if self.range.subtype not in ("*", offered.subtype):
            return False
        given = dict(offered.parameters)
        given.setdefault("charset", "utf-8")
        return all(given.get(name) == value for name, value in self.range.parameters)


def parse_accept(value: str) -> list[MediaRange]:
    """The media ranges of an `Accept` field; elements that do not parse (a bad `q` too) are
    left out."""
    found = []
    for item in split_list(value):
        media_type = parse_media_type(item)
        if media_type is None or (media_type.type == "*" and media_type.subtype != "*"):
            continue
        parameters = list(media_type.parameters)
        weight = 1.0
        names = [name for name, _ in parameters]
        if "q" in names:  # `q` ends the range's parameters; what follows it is extensions
            weight_text = parameters[names.index("q")][1]
            if not _QUALITY.match(weight_text):
                continue
            weight = float(weight_text)
            parameters = parameters[: names.index("q")]
        plain = MediaType(media_type.type, media_type.subtype, tuple(parameters))
        found.append(MediaRange(plain, weight))
    return found


def acceptable(accept: str | None, offered: Iterable[str]) -> list[str]:
    """The offered media types an `Accept` value allows (RFC 9110 §12.5.1): each takes the
    weight of the most specific range that matches it, and weight 0 excludes it. Without
    `Accept`, or with none of its elements readable, everything is acceptable."""
    offered = list(offered)
    ranges = parse_accept(accept) if accept else []
    if not ranges:
        return offered
    return [text for text in offered if _weight(ranges, text) > 0]


def preferred(accept: str | None, offered: Iterable[str]) -> str | None:
    """The offered media type `Accept` weighs highest (RFC 9110 §12.5.1), the first offered
    on a tie or without `Accept`; None when it allows none."""
    offered = list(offered)
    ranges = parse_accept(accept) if accept else []
    if not ranges:
        return offered[0] if offered else None
    weights = [_weight(ranges, text) for text in offered]
    best = max(weights, default=0.0)
    return offered[weights.index(best)] if best > 0 else None


def _weight(ranges: list[MediaRange], text: str) -> float:
    """The weight of the most specific range that matches the media type (0 if none does)."""
    media_type = parse_media_type(text)
    matching = [r for r in ranges if media_type is not None and r.matches(media_type)]
    return max(matching, key=lambda r: r.specificity).weight if matching else 0.0


_UNREAD = object()  # a parsed field not parsed yet


class RequestHead:
    """A request's header fields after the rules above.

    `fields` maps each lower-case name to its value (several lines joined by ", ");
    `lines` holds the lines of each field sent on several lines (and of no other), so
    `repeated` can name the single-valued fields (`SINGLE_VALUED`, or any name the caller asks
    about) that came on several lines with different values. `spelled` is the ASGI header list
    the head was read from when it is already in the canonical spelling (`raw`), else None.
    What is parsed from the fields is parsed on first use, once.
    """

    __slots__ = ("_content_type", "_differing", "_preferences", "_spelled", "fields", "lines")

    def __init__(
        self,
        fields: Mapping[str, str],
        lines: Mapping[str, tuple[str, ...]],
        spelled: list[tuple[bytes, bytes]] | None = None,
    ):
        self.fields = fields
        self.lines = lines
        self._spelled = spelled
        self._differing: frozenset[str] | None = None
        self._content_type: MediaType | object | None = _UNREAD
        self._preferences: dict[str, str] | None = None

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.fields.get(name.lower(), default)

    def repeated(self, names: Iterable[str] = SINGLE_VALUED) -> list[str]:
        """The given single-valued fields sent on several lines with different values."""
        if not self.lines:
            return []
        if self._differing is None:
            self._differing = frozenset(
                name for name, values in self.lines.items() if len(set(values)) > 1
            )
        differing = self._differing
        return [name for name in names if name in differing] if differing else []

    @property
    def content_type(self) -> MediaType | None:
        """The `Content-Type` field's media type (None: not sent, or not one)."""
        found = self._content_type
        if found is _UNREAD:
            value = self.fields.get("content-type")
            found = self._content_type = None if value is None else _media_type(value)
        return found  # type: ignore[return-value]

    @property
    def preferences(self) -> dict[str, str]:
        """The `Prefer` field's preferences (`parse_preferences`)."""
        found = self._preferences
        if found is None:
            value = self.fields.get("prefer")
            found = self._preferences = parse_preferences(value) if value else {}
        return found

    def raw(self) -> list[tuple[bytes, bytes]]:
        """The fields as ASGI header pairs, one per name, in the canonical spelling."""
        if self._spelled is not None:
            return self._spelled
        return [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in self.fields.items()
        ]


def read_head(raw: Iterable[tuple[bytes, bytes]]) -> RequestHead:
    """Read ASGI header pairs (names and values are bytes, decoded as ISO-8859-1 per RFC 9110
    §5.5) into a `RequestHead`.

    The common head (each name once, in lower case, no whitespace around a value, a canonical
    `Content-Type`: what servers send for what clients usually write) is read in one pass and
    keeps its header list as its canonical spelling; any other goes through `_read_lines`."""
    pairs = raw if isinstance(raw, list) else list(raw)
    fields: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = raw_name.decode("latin-1")
        if name in fields or not name.islower():
            return _read_lines(pairs)
        value = raw_value.decode("latin-1")
        if value and (value[0] in _OWS or value[-1] in _OWS):
            return _read_lines(pairs)
        fields[name] = value
    content_type = fields.get("content-type")
    if content_type is not None and _canonical_media_type(content_type) != content_type:
        return _read_lines(pairs)
    return RequestHead(fields, {}, pairs)


def _read_lines(raw: Iterable[tuple[bytes, bytes]]) -> RequestHead:
    """`read_head` for any head: names in any case, sent on several lines, values with
    whitespace around them, a `Content-Type` in another spelling."""
    lines: dict[str, list[str]] = {}
    for raw_name, raw_value in raw:
        lines.setdefault(raw_name.decode("latin-1").lower(), []).append(
            raw_value.decode("latin-1").strip(_OWS)
        )
    fields: dict[str, str] = {}
    for name, values in lines.items():
        distinct = list(dict.fromkeys(values)) if name in SINGLE_VALUED else values
        fields[name] = ", ".join(distinct)
    content_type = fields.get("content-type")
    if content_type is not None:
        fields["content-type"] = _canonical_media_type(content_type)
    several = {name: tuple(values) for name, values in lines.items() if len(values) > 1}
    return RequestHead(fields, several)


@functools.lru_cache(maxsize=64)
def _media_type(value: str) -> MediaType | None:
    """`parse_media_type` of a `Content-Type` value, remembered for the few values clients
    send."""
    return parse_media_type(value)


@functools.lru_cache(maxsize=64)
def _canonical_media_type(value: str) -> str:
    """A `Content-Type` value in the canonical spelling (`MediaType.__str__`); one that does not
    parse as it is."""
    media_type = _media_type(value)
    return value if media_type is None else str(media_type)


def canonical(scope: Scope) -> Scope:
    """The scope with its header list in the canonical spelling and its `RequestHead` under
    `HEAD`; a scope already read is returned as it is."""
    if HEAD in scope:
        return scope
    head = read_head(scope["headers"])
    return {**scope, "headers": head.raw(), HEAD: head}


def head_of(scope: Mapping[str, Any]) -> RequestHead:
    """The `RequestHead` of a scope `canonical` has read (read now when it has not)."""
    found = scope.get(HEAD)
    return found if isinstance(found, RequestHead) else read_head(scope["headers"])
