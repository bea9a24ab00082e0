"""The `x-` vocabulary as one JSON Schema (`kycspec/vocabulary.yaml`), checked before anything
else reads a document, so a key the loader does not understand is refused, never ignored.

`problem(document)` is the most relevant violation (jsonschema's `relevance`, preferring an
unknown key, and inside a `oneOf` the alternative of the value's type) as a
`(JSON pointer, message)` pair, or None. Messages name what is allowed there:

- `unknown key 'bogus' (allowed: field, states, ...)` for a key no closed object of ours has;
- `unknown key 'x-resource' (did you mean 'x-resources'? allowed: x-resources, ...)` for a
  near miss of one of our extensions on an OpenAPI object (other tools' `x-` keys, `x-logo`,
  pass), and `'x-filter' does not belong here (...)` for one of ours on the wrong object; both
  point at the key itself (`#/x-resource`), so one at the document's root has a pointer too;
- `expected string, got integer`, `'weekly' is not one of: limit, starting_after, ...`,
  `missing key 'role'`.

The enums of the `$defs` in `REGISTERED` come from the registries (roles, paging styles, update
semantics, ...) when the schema is built, so a registered extension is known to the schema too.
"""

import copy
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import by_relevance

from kycspec import signature
from kycspec.expressions import TEST_KINDS, TIME_FORMATS
from kycspec.model import CHOSEN_STATUSES, ERROR_KINDS, FILTER_OPS, ROLES
from kycspec.paging import PAGING_STYLES
from kycspec.problems import pointer
from kycspec.reading import parse_text
from kycspec.updates import UPDATE_SEMANTICS
from kycspec.webhooks import VIA

SCHEMA_FILE = "vocabulary.yaml"
_DEFS = "#/$defs/"
NEAR_MISS_CUTOFF = 0.8  # difflib ratio: `x-resource`/`x-resources` 0.95, `x-logo`/`x-errors` 0.43

UNKNOWN_KEY = "unknown key {key!r} (allowed: {allowed})"
UNKNOWN_CLOSE = "unknown key {key!r} (did you mean {match!r}? allowed: {allowed})"
MISPLACED = "{key!r} does not belong here (allowed here: {allowed}); see specs/README.md"
WRONG_TYPE = "expected {expected}, got {actual}"
NOT_ONE_OF = "{value!r} is not one of: {allowed}"
MISSING = "missing key {key!r}"

# `$defs` whose `enum` is the list a registry holds (the schema file leaves it out).
REGISTERED: Mapping[str, Callable[[], Iterable[str]]] = {
    "role": lambda: ROLES,
    "pagingStyle": PAGING_STYLES.names,
    "updateSemantic": UPDATE_SEMANTICS.names,
    "filterOp": lambda: FILTER_OPS,
    "errorKind": lambda: ERROR_KINDS,
    "statusKind": lambda: CHOSEN_STATUSES,
    "signatureScheme": lambda: signature.SCHEMES,
    "webhookVia": lambda: VIA,
    "timeFormat": lambda: TIME_FORMATS,
    "testKind": lambda: TEST_KINDS,
}
# At one place in the document, an unknown key says more than what it leaves missing.
_RELEVANCE = by_relevance(strong=frozenset({"additionalProperties", "ownExtensions", "enum"}))
_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


@cache
def _schema_file() -> dict[str, Any]:
    text = (resources.files("kycspec") / SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = parse_text(text, SCHEMA_FILE)
    return schema


def schema() -> dict[str, Any]:
    """The vocabulary's JSON Schema with the registries' enums filled in (a fresh copy)."""
    built = copy.deepcopy(_schema_file())
    for name, names in REGISTERED.items():
        built["$defs"][name]["enum"] = list(names())
    return built


def _inlined(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with each `$ref` to `#/$defs/x` replaced by (a copy of) its target, merged
    with the keywords beside it: the vocabulary has no recursion, and a validator that does
    not look references up is several times faster."""
    if isinstance(node, list):
        return [_inlined(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    found = {key: _inlined(value, defs) for key, value in node.items() if key != "$defs"}
    ref = found.pop("$ref", None)
    if ref is None:
        return found
    return {**_inlined(defs[ref.removeprefix(_DEFS)], defs), **found}


@cache
def _validator(enums: tuple[tuple[str, ...], ...]) -> Any:
    """A validator of the schema whose registered enums are `enums` (in `REGISTERED` order)."""
    del enums  # the cache key: a registry that grows gets a new validator
    built = schema()
    return _Validator(_inlined(built, built["$defs"]))


def _own_extensions(
    validator: Any, enabled: bool, instance: Any, subschema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """`ownExtensions: true`: an `x-` key close to one in `properties` is a misspelling."""
    if not enabled or not isinstance(instance, dict):
        return
    ours = [key for key in subschema.get("properties", {}) if key.startswith("x-")]
    for key in instance:
        if not isinstance(key, str) or not key.startswith("x-") or key in ours:
            continue
        if key in _extensions():
            yield ValidationError(MISPLACED.format(key=key, allowed=", ".join(ours)), path=[key])
            continue
        match = difflib.get_close_matches(key.lower(), ours, n=1, cutoff=NEAR_MISS_CUTOFF)
        if match:
            shown = ", ".join(ours)
            yield ValidationError(
                UNKNOWN_CLOSE.format(key=key, match=match[0], allowed=shown), path=[key]
            )


@cache
def _extensions() -> frozenset[str]:
    """Every `x-` key the vocabulary allows somewhere."""
    found: set[str] = set()
    pending: list[Any] = [_schema_file()]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            found.update(k for k in node.get("properties", {}) if str(k).startswith("x-"))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return frozenset(found)


_Validator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"ownExtensions": _own_extensions}
)


def problem(document: Mapping[str, Any]) -> tuple[str, str] | None:
    """The most relevant violation of the vocabulary, as (JSON pointer, message), or None."""
    enums = tuple(tuple(names()) for names in REGISTERED.values())
    error = max(_validator(enums).iter_errors(document), key=_RELEVANCE, default=None)
    if error is None:
        return None
    while error.context:
        # Of a oneOf's alternatives, the one the value was meant for: one whose type it has.
        meant = [e for e in error.context if _same_kind(e)] or error.context
        error = max(meant, key=_RELEVANCE)
    return pointer(*error.absolute_path), _message(error)


def _parts(error: ValidationError) -> tuple[Any, Any, Any, Mapping[str, Any]]:
    """The keyword that failed, the value, the keyword's argument and the schema holding it."""
    where = error.schema if isinstance(error.schema, Mapping) else {}
    return error.validator, error.instance, error.validator_value, where


def _same_kind(error: ValidationError) -> bool:
    """Whether the error's value is of the kind its rule is about (not a wrong-type error)."""
    kind, value, rule, _ = _parts(error)
    if kind == "type":
        return False
    if kind in ("const", "enum"):
        allowed = [rule] if kind == "const" else rule
        return any(type(item) is type(value) for item in allowed)
    return True


def _message(error: ValidationError) -> str:
    kind, value, rule, where = _parts(error)
    if kind == "additionalProperties" and isinstance(value, dict):
        declared = where.get("properties", {})
        extra = [key for key in value if key not in declared]
        return _unknown(extra[0], list(declared))
    if kind == "enum" and "propertyNames" in error.relative_schema_path:
        return _unknown(value, [str(name) for name in rule])
    if kind == "enum":
        return NOT_ONE_OF.format(value=value, allowed=", ".join(map(str, rule)))
    if kind == "const":
        return NOT_ONE_OF.format(value=value, allowed=rule)
    if kind == "type":
        expected = " or ".join(rule) if isinstance(rule, list) else rule
        return WRONG_TYPE.format(expected=expected, actual=_JSON_TYPES.get(type(value), "?"))
    if kind == "required":
        missing = [key for key in rule if key not in value]
        return MISSING.format(key=missing[0])
    return str(error.message)  # jsonschema's own words for the rarer keywords (pattern, minItems)


def _unknown(key: str, allowed: list[str]) -> str:
    match = difflib.get_close_matches(key, allowed, n=1, cutoff=NEAR_MISS_CUTOFF)
    shown = ", ".join(allowed) or "none"
    if match:
        return UNKNOWN_CLOSE.format(key=key, match=match[0], allowed=shown)
    return UNKNOWN_KEY.format(key=key, allowed=shown)
