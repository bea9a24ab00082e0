"""Parse one YAML or JSON file into plain JSON data.

YAML 1.1 (what PyYAML reads) turns unquoted response codes (`200:`) into integers, `swagger: 2.0`
into a float and `2024-01-31` into a date; JSON and OpenAPI know only strings there. Every key
becomes a string and every date an RFC 3339 string, so the rest of the loader sees what the
author meant.
"""

import datetime
import json
from pathlib import Path
from typing import Any

import yaml

SUFFIXES = (".yaml", ".yml", ".json")
NOT_PARSED = "not valid {kind}: {error}"
NOT_READABLE = "cannot read the file: {error}"


class ParseError(ValueError):
    """The text is not valid YAML or JSON; the message names line and column."""


def parse_text(text: str, name: str) -> Any:
    """The data in a YAML or JSON text (`name` ending `.json` is read as JSON)."""
    if name.endswith(".json"):
        try:
            return normalise(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ParseError(NOT_PARSED.format(kind="JSON", error=exc)) from None
    try:
        return normalise(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise ParseError(NOT_PARSED.format(kind="YAML", error=_one_line(exc))) from None


def parse_file(path: Path) -> Any:
    """The data in a YAML or JSON file; `ParseError` names what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(NOT_READABLE.format(error=exc)) from None
    return parse_text(text, path.name)


def normalise(node: Any) -> Any:
    """A fresh copy with string keys and RFC 3339 strings for YAML dates.

    A fresh copy also expands YAML anchors into independent values.
    """
    if isinstance(node, dict):
        return {_key(key): normalise(value) for key, value in node.items()}
    if isinstance(node, list):
        return [normalise(item) for item in node]
    if isinstance(node, datetime.datetime):
        return node.isoformat().replace("+00:00", "Z")
    if isinstance(node, datetime.date):
        return node.isoformat()
    return node


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(normalise(key))


def _one_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return problem
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
