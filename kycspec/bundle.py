"""Bundle a multi-file OpenAPI document into one, before anything else reads it.

`$ref`s to other files are resolved relative to the file they appear in (OpenAPI 3.0.3
section 4.7.14, RFC 3986 section 5). A target under `components/<section>/<name>` (or Swagger
2.0's `definitions`, `parameters`, `responses`) is copied to the same place in the bundled
document, renamed if that name is taken, and referenced there, so recursive schemas keep
working; any other target is copied in place. What comes out has local `#/...` references only,
so neither the validator nor connexion ever opens a URL.

Remote references (`http://`, `https://`) are refused unless explicitly allowed: fetching at
start-up would make a mock's behaviour depend on the network.
"""

import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from kycspec.problems import DocumentError, join
from kycspec.reading import ParseError, parse_file, parse_text

REMOTE_REFUSED = (
    "remote reference {ref!r} refused: the mock reads no URLs at start-up "
    "(copy the file next to the document, or start with --allow-remote-refs)"
)
UNSUPPORTED_SCHEME = "reference {ref!r}: only relative file paths and http(s) URLs are supported"
MISSING_FILE = "reference {ref!r}: no file {file}"
MISSING_TARGET = "reference {ref!r}: {file} has nothing at #{fragment}"
CIRCULAR = (
    "reference {ref!r} is circular; move its target under components/schemas so that it can be "
    "referenced by name"
)
TARGET_BROKEN = "reference {ref!r}: {error}"
REMOTE_TIMEOUT_S = 10
# Named places whose entries are hoisted into the bundled document (by their first two tokens).
HOISTED = {"components", "definitions", "parameters", "responses"}


def bundle(document: Any, path: Path, *, allow_remote_refs: bool = False) -> Any:
    """The document with every `$ref` to another file replaced by a local one (or its target).

    Raises `DocumentError` naming the file and pointer of a reference that cannot be resolved.
    """
    return _Bundler(document, path, allow_remote_refs).run()


def _tokens(fragment: str) -> list[str]:
    if fragment in ("", "/"):
        return []
    return [unquote(t).replace("~1", "/").replace("~0", "~") for t in fragment[1:].split("/")]


class _Bundler:
    def __init__(self, document: Any, path: Path, allow_remote: bool):
        self.root_key = str(path.resolve())
        self.root = document
        self.allow_remote = allow_remote
        self.files: dict[str, Any] = {self.root_key: document}
        self.hoisted: dict[tuple[str, str], str] = {}
        self.added: dict[tuple[str, ...], Any] = {}
        self.inlining: list[tuple[str, str]] = []

    def run(self) -> Any:
        bundled = self._walk(self.root, self.root_key, "")
        for tokens, node in self.added.items():
            parent = bundled
            for token in tokens[:-1]:
                parent = parent.setdefault(token, {})
            parent[tokens[-1]] = node
        return bundled

    def _walk(self, node: Any, base: str, at: str) -> Any:
        if isinstance(node, list):
            return [self._walk(item, base, join(at, i)) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and base == self.root_key and ref.startswith("#"):
            self._at(self.root, _tokens(ref[1:]), ref, base, ref[1:], base, at)
        elif isinstance(ref, str):
            return self._resolve(node, ref, base, at)
        return {key: self._walk(value, base, join(at, key)) for key, value in node.items()}

    def _resolve(self, node: dict[str, Any], ref: str, base: str, at: str) -> Any:
        target, fragment = self._locate(ref, base, at)
        siblings = {k: self._walk(v, base, join(at, k)) for k, v in node.items() if k != "$ref"}
        if target == self.root_key:
            self._at(self.root, _tokens(fragment), ref, target, fragment, base, at)
            return {"$ref": "#" + fragment, **siblings}
        document = self._load(target, ref, base, at)
        tokens = _tokens(fragment)
        found = self._at(document, tokens, ref, target, fragment, base, at)
        if len(tokens) >= 2 and tokens[0] in HOISTED:
            return {"$ref": "#" + self._hoist(target, fragment, tokens, found), **siblings}
        key = (target, fragment)
        if key in self.inlining:
            raise DocumentError(base, join(at, "$ref"), CIRCULAR.format(ref=ref))
        self.inlining.append(key)
        try:
            inlined = self._walk(found, target, fragment)
        finally:
            self.inlining.pop()
        if isinstance(inlined, dict):
            return {**inlined, **siblings}
        return inlined

    def _hoist(self, target: str, fragment: str, tokens: list[str], found: Any) -> str:
        key = (target, fragment)
        if key not in self.hoisted:
            place = (tokens[0], tokens[1]) if tokens[0] == "components" else (tokens[0],)
            name = "_".join(tokens[len(place) :])
            taken = {**self._names(place), **{t[-1]: None for t in self.added if t[:-1] == place}}
            unique, n = name, 1
            while unique in taken:
                n += 1
                unique = f"{name}_{n}"
            where = (*place, unique)
            self.hoisted[key] = join("", *where)
            self.added[where] = None  # reserve the name before walking (recursive schemas)
            self.added[where] = self._walk(found, target, fragment)
        return self.hoisted[key]

    def _names(self, place: tuple[str, ...]) -> dict[str, Any]:
        node: Any = self.root
        for token in place:
            node = node.get(token, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    def _locate(self, ref: str, base: str, at: str) -> tuple[str, str]:
        address, _, fragment = ref.partition("#")
        if not address:
            return base, fragment
        scheme = urlsplit(address).scheme
        base_is_url = urlsplit(base).scheme in ("http", "https")
        if scheme in ("http", "https") or (base_is_url and not scheme):
            if not self.allow_remote:
                raise DocumentError(base, join(at, "$ref"), REMOTE_REFUSED.format(ref=ref))
            return urllib.parse.urljoin(base, address), fragment
        if scheme and len(scheme) > 1:  # a one-letter scheme is a Windows drive
            raise DocumentError(base, join(at, "$ref"), UNSUPPORTED_SCHEME.format(ref=ref))
        return str((Path(base).parent / unquote(address)).resolve()), fragment

    def _load(self, target: str, ref: str, base: str, at: str) -> Any:
        if target not in self.files:
            try:
                if urlsplit(target).scheme in ("http", "https"):
                    with urllib.request.urlopen(target, timeout=REMOTE_TIMEOUT_S) as response:
                        text = response.read().decode("utf-8")
                    self.files[target] = parse_text(text, urlsplit(target).path)
                elif not Path(target).is_file():
                    raise DocumentError(
                        base, join(at, "$ref"), MISSING_FILE.format(ref=ref, file=target)
                    )
                else:
                    self.files[target] = parse_file(Path(target))
            except (ParseError, OSError, UnicodeDecodeError) as exc:
                message = TARGET_BROKEN.format(ref=ref, error=exc)
                raise DocumentError(base, join(at, "$ref"), message) from None
        return self.files[target]

    def _at(
        self,
        document: Any,
        tokens: list[str],
        ref: str,
        target: str,
        fragment: str,
        base: str,
        at: str,
    ) -> Any:
        node = document
        for token in tokens:
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                message = MISSING_TARGET.format(ref=ref, file=target, fragment=fragment)
                raise DocumentError(base, join(at, "$ref"), message)
        return node
