"""Id formats such as `ver_{lower:12}`: generate ids and match them."""

import functools
import os
import random
import re
import string
import uuid
from collections.abc import Callable

_PLACEHOLDER = re.compile(r"\{(alnum|lower|hex|uuid)(?::(\d+))?\}")
_ALPHABETS = {
    "alnum": string.ascii_letters + string.digits,
    "lower": string.ascii_lowercase + string.digits,
    "hex": "0123456789abcdef",
}
_PATTERNS = {"alnum": "[A-Za-z0-9]", "lower": "[a-z0-9]", "hex": "[0-9a-f]"}
PLACEHOLDERS = "{{alnum:N}}, {{lower:N}}, {{hex:N}} (N > 0) and {{uuid}}"  # a format template
BAD_PLACEHOLDER = "bad id placeholder {placeholder!r} in {fmt!r}; allowed: " + PLACEHOLDERS
UNKNOWN_PLACEHOLDER = "unknown id placeholder in {fmt!r}; allowed: " + PLACEHOLDERS
_UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Seeded from the OS once: ids are unguessable across runs, and an id costs one call instead of
# one `os.urandom` per character. A mock's ids need not be cryptographically secret.
_RANDOM = random.Random(os.urandom(32))
# A forked worker (`serve --workers N` on Granian) seeds its own: otherwise every worker would
# draw the ids of its siblings, and their records would overwrite each other in a shared store.
os.register_at_fork(after_in_child=lambda: _RANDOM.seed(os.urandom(32)))


def _check(fmt: str) -> None:
    for match in _PLACEHOLDER.finditer(fmt):
        kind, size = match.groups()
        if (kind == "uuid") != (size is None) or (size is not None and int(size) == 0):
            raise ValueError(BAD_PLACEHOLDER.format(placeholder=match.group(0), fmt=fmt))
    # An unknown or misspelt placeholder (`{lowr:12}`) would otherwise be copied literally,
    # making every generated id the same.
    rest = _PLACEHOLDER.sub("", fmt)
    if "{" in rest or "}" in rest:
        raise ValueError(UNKNOWN_PLACEHOLDER.format(fmt=fmt))


def generate_id(fmt: str) -> str:
    """A fresh random id in the format."""
    return "".join(part() for part in _parts(fmt))


def _uuid() -> str:
    return str(uuid.uuid4())


def _draw(alphabet: str, size: int) -> str:
    return "".join(_RANDOM.choices(alphabet, k=size))


@functools.lru_cache(maxsize=256)
def _parts(fmt: str) -> tuple[Callable[[], str], ...]:
    _check(fmt)
    parts: list[Callable[[], str]] = []
    last = 0
    for match in _PLACEHOLDER.finditer(fmt):
        parts.append(functools.partial(str, fmt[last : match.start()]))
        kind, size = match.groups()
        if kind == "uuid":
            parts.append(_uuid)
        else:
            parts.append(functools.partial(_draw, _ALPHABETS[kind], int(size)))
        last = match.end()
    parts.append(functools.partial(str, fmt[last:]))
    return tuple(parts)


def id_pattern(fmt: str) -> re.Pattern[str]:
    """A regular expression that matches exactly the ids of the format."""
    _check(fmt)
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(fmt):
        parts.append(re.escape(fmt[last : match.start()]))
        kind, size = match.groups()
        parts.append(_UUID_PATTERN if kind == "uuid" else f"{_PATTERNS[kind]}{{{size}}}")
        last = match.end()
    parts.append(re.escape(fmt[last:]))
    return re.compile("^" + "".join(parts) + "$")
