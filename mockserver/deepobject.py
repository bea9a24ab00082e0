"""Form fields in `style: deepObject` and members of exploded `form` objects, folded into the
objects and arrays they stand for, by the reading rule `kycspec.formfields` states (the one the
conformance suite encodes by), with a field that spells no value, or that no property takes,
refused as a 400 naming it.

OpenAPI 3.0.3 §4.7.14 (Encoding Object); Stripe's form bodies (https://docs.stripe.com/api).
"""

from collections.abc import Mapping
from typing import Any

from kycspec import formfields
from kycspec.formfields import MAX_DEPTH
from mockserver import errors

__all__ = ["MAX_DEPTH", "fold"]


def fold(
    fields: dict[str, list[str]], schema: Mapping[str, Any], encoding: Mapping[str, Any]
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """`kycspec.formfields.fold`: the body's own fields and the folded `deepObject` and
    exploded `form` object properties.

    Raises `errors.InvalidRequest` (`PARAMETER_REPEATED`, `FORM_FIELD_CONFLICT`,
    `FORM_FIELD_TOO_DEEP`, `FORM_FIELD_UNREADABLE`, `FORM_FIELD_UNKNOWN`) naming the field.
    """
    try:
        return formfields.fold(fields, schema, encoding)
    except formfields.FormFieldError as refused:
        name = errors.shown(refused.name)
        message = {
            formfields.REPEATED: errors.PARAMETER_REPEATED.format(name=name),
            formfields.CONFLICT: errors.FORM_FIELD_CONFLICT.format(name=name),
            formfields.TOO_DEEP: errors.FORM_FIELD_TOO_DEEP.format(name=name, limit=MAX_DEPTH),
            formfields.UNREADABLE: errors.FORM_FIELD_UNREADABLE.format(name=name),
            formfields.UNKNOWN: errors.FORM_FIELD_UNKNOWN.format(name=name),
        }[refused.kind]
        raise errors.InvalidRequest(message) from None
