"""Data from an OpenAPI 3.0 schema, for responses a plain document gives no example of.

Deterministic for a given `random.Random`: the stateless responder seeds it from the request, so
the same request reads the same body, and `Prefer: dynamic=true` seeds it afresh (Prism's static
and dynamic modes). Static data takes the schema's own `example` or `default` where there is one;
dynamic data ignores them. Strings with a `pattern` come from Hypothesis' regular-expression
strategy under the same seed. Recursive schemas stop at `MAX_DEPTH` (optional properties are
left out, arrays are empty).
"""

import base64
import datetime
import random
import uuid
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from kycspec.refs import follow_refs
from kycspec.types import JSONObject

MAX_DEPTH = 4
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")
_PATTERN_SETTINGS = settings(
    max_examples=2,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    deadline=None,
)


class Generator:
    """Values for the schemas of one document (its `$ref`s resolved as they are met)."""

    def __init__(self, document: JSONObject, rng: random.Random, *, dynamic: bool = False):
        self.document = document
        self.rng = rng
        self.dynamic = dynamic

    def value(self, schema: Any, depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return None
        if not self.dynamic:
            for key in ("example", "default"):
                if key in schema:
                    return schema[key]
        if schema.get("enum"):
            return schema["enum"][0] if not self.dynamic else self.rng.choice(schema["enum"])
        if "allOf" in schema:
            return self.value(self._merged(schema), depth)
        for key in ("oneOf", "anyOf"):
            if schema.get(key):
                branches = schema[key]
                branch = self.rng.choice(branches) if self.dynamic else branches[0]
                rest = {k: v for k, v in schema.items() if k != key}
                return self.value(self._merged({"allOf": [rest, branch]}), depth)
        kind = schema.get("type") or _implied_type(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "integer":
            return int(self._number(schema, integer=True))
        if kind == "number":
            return self._number(schema, integer=False)
        if kind == "boolean":
            return self.rng.random() < 0.5
        return self._string(schema)

    def resolve(self, schema: Any) -> Any:
        """The node a local `$ref` points at (followed through chains of references)."""
        return follow_refs(self.document, schema)

    def _merged(self, schema: JSONObject) -> JSONObject:
        merged: JSONObject = {k: v for k, v in schema.items() if k != "allOf"}
        for each in schema.get("allOf", []):
            part = self.resolve(each)
            if "allOf" in part:
                part = self._merged(part)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def _object(self, schema: JSONObject, depth: int) -> JSONObject:
        required = set(schema.get("required", []))
        out: JSONObject = {}
        for name, prop in schema.get("properties", {}).items():
            resolved = self.resolve(prop)
            if isinstance(resolved, dict) and resolved.get("writeOnly"):
                continue
            if name not in required and (depth >= MAX_DEPTH or self.rng.random() < 0.2):
                continue
            out[name] = self.value(prop, depth + 1)
        return out

    def _array(self, schema: JSONObject, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, 3)))
        if depth >= MAX_DEPTH:
            high = low
        count = self.rng.randint(min(max(low, 1), high), max(low, min(high, 3)))
        items = schema.get("items", {})
        return [self.value(items, depth + 1) for _ in range(count)]

    def _number(self, schema: JSONObject, *, integer: bool) -> float:
        low = schema.get("minimum", 0 if "maximum" not in schema else schema["maximum"] - 100)
        high = schema.get("maximum", low + 1000)
        if schema.get("exclusiveMinimum") is True:
            low += 1 if integer else 0.5
        if schema.get("exclusiveMaximum") is True:
            high -= 1 if integer else 0.5
        if integer:
            value: float = self.rng.randint(int(low), max(int(low), int(high)))
        else:
            value = round(self.rng.uniform(low, max(low, high)), 2)
        step = schema.get("multipleOf")
        if step:
            value = (value // step) * step
            if value < low:
                value += step
        return value

    def _string(self, schema: JSONObject) -> str:
        fmt = schema.get("format")
        rng = self.rng
        if "pattern" in schema:
            return self._matching(str(schema["pattern"]))
        moment = EPOCH + datetime.timedelta(seconds=rng.randint(0, 365 * 86400))
        by_format = {
            "date-time": lambda: moment.isoformat().replace("+00:00", "Z"),
            "date": lambda: moment.date().isoformat(),
            "time": lambda: moment.time().isoformat() + "Z",
            "uuid": lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "email": lambda: f"{rng.choice(WORDS)}@example.com",
            "uri": lambda: f"https://example.com/{rng.choice(WORDS)}",
            "url": lambda: f"https://example.com/{rng.choice(WORDS)}",
            "hostname": lambda: f"{rng.choice(WORDS)}.example.com",
            "ipv4": lambda: f"192.0.2.{rng.randint(1, 254)}",
            "ipv6": lambda: f"2001:db8::{rng.randint(1, 0xFFFF):x}",
            "byte": lambda: base64.b64encode(rng.choice(WORDS).encode()).decode(),
        }
        if fmt in by_format:
            return by_format[fmt]()
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 24)))
        text = rng.choice(WORDS)
        while len(text) < low:
            text += "-" + rng.choice(WORDS)
        return text[: max(low, high)]

    def _matching(self, pattern: str) -> str:
        found: list[str] = []

        @hypothesis_seed(self.rng.getrandbits(32))
        @_PATTERN_SETTINGS
        @given(st.from_regex(pattern, fullmatch=True))
        def draw(text: str) -> None:
            found.append(text)

        draw()
        return found[-1]


def _implied_type(schema: JSONObject) -> str:
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"
