"""Whether a form body, as it went out, is valid for its operation: the judge of a negative
case whose invalid value a form may have made valid on the way.

A form carries text only (OpenAPI 3.0.3 §4.7.14), so a generated "invalid" value can reach the
server as a valid one: a number for a text field is the text `1.5`, and so is a number in a
map of strings sent `style: deepObject` (`metadata[k]=1.5`). schemathesis reads a sent form's
top-level fields back before it counts a negative case (`negative_data_rejection`), but not the
bracketed fields of a `deepObject`; this reads the body the way the server does
(`kycspec.formfields.decode`, the mock's own reading) and validates the value it spells.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from conformance.nullable import validator
from kycspec.formfields import FORM_MEDIA, FormFieldError, decode


def valid_as_sent(
    schema: Mapping[str, Any] | None,
    encoding: Mapping[str, Any],
    media_type: str | None,
    body: bytes | str | None,
) -> bool:
    """Whether the urlencoded `body` spells a value the form's `schema` (refs inlined) allows,
    read by its Encoding Object map `encoding` (False for any other media type, no schema, or
    fields that spell no value)."""
    if schema is None or media_type is None:
        return False
    if media_type.split(";")[0].strip().lower() != FORM_MEDIA:
        return False
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body or ""
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        fields.setdefault(name, []).append(value)
    try:
        spelt = decode(fields, schema, encoding)
    except FormFieldError:
        return False
    return bool(validator(schema).is_valid(spelt))
