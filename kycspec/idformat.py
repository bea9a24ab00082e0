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
    """A fresh random id in the format. Raises ValueError for a bad format (`_check`)."""
    return _generator(fmt)()


def _uuid() -> str:
    return str(uuid.uuid4())


def _drawer(alphabet: str, size: int) -> Callable[[], str]:
    """Draws `size` characters of `alphabet`, each equally likely: random bytes mapped onto
    the alphabet, those at or past the largest multiple of its length dropped first."""
    table = bytes(ord(alphabet[byte % len(alphabet)]) for byte in range(256))
    dropped = bytes(range(256 - 256 % len(alphabet), 256))
    spare = size // 8 + 4  # drawn beyond `size`, so one draw nearly always has enough left

    def draw() -> str:
        kept = _RANDOM.randbytes(size + spare).translate(table, dropped)
        while len(kept) < size:
            kept += _RANDOM.randbytes(size).translate(table, dropped)
        return kept[:size].decode()

    return draw


@functools.lru_cache(maxsize=256)
def _generator(fmt: str) -> Callable[[], str]:
    """The function that makes ids of the format: its literal text around the draws."""
    _check(fmt)
    texts: list[str] = []
    draws: list[Callable[[], str]] = []
    last = 0
    for match in _PLACEHOLDER.finditer(fmt):
        texts.append(fmt[last : match.start()])
        kind, size = match.groups()
        draws.append(_uuid if kind == "uuid" else _drawer(_ALPHABETS[kind], int(size)))
        last = match.end()
    texts.append(fmt[last:])
    if not draws:
        return functools.partial(str, fmt)
    if len(draws) == 1:  # the usual `prefix_{kind:n}`
        (prefix, suffix), (draw,) = texts, draws
        return lambda: prefix + draw() + suffix

    def generate() -> str:
        drawn = [text + draw() for text, draw in zip(texts, draws, strict=False)]
        return "".join(drawn) + texts[-1]

    return generate


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
