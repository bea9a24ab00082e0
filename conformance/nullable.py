"""OpenAPI 3.0 `nullable` read one way in the whole suite.

OpenAPI 3.0.3 (Schema Object, `nullable`) lets `nullable: true` add null only to a `type` in
the same Schema Object, so `{allOf: [{$ref: Details}], nullable: true}` read to the letter
allows no null. Specs write exactly that for a nullable reference (Stripe's own OpenAPI
document does, with `anyOf`), and the suite's response checks (schemathesis, which turns
`nullable` into `anyOf: [schema, {type: null}]`) and `kycspec.openapi31` read it as "or null".
`validator(schema)` gives the suite's own validators (webhook payloads, request bodies as
sent) that same reading, so one value is never valid for one check and invalid for another.
"""

from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

NULL_ONLY = {"nullable": True, "enum": [None]}


def with_null(schema: Any) -> Any:
    """The schema with each Schema Object that is `nullable: true` without a `type` of its own
    written as `anyOf: [the object, null]`, at any depth."""
    if isinstance(schema, list):
        return [with_null(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    read = {key: with_null(value) for key, value in schema.items()}
    if read.get("nullable") is True and "type" not in read:
        rest = {key: value for key, value in read.items() if key != "nullable"}
        return {"anyOf": [rest, NULL_ONLY]}
    return read


def validator(schema: Any) -> Any:
    """An OpenAPI 3.0 validator of the schema (formats checked), `nullable` read as above."""
    return OAS30Validator(with_null(schema), format_checker=oas30_format_checker)
