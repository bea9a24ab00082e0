"""conformance.nullable: `nullable` next to a composition admits null in every validator of the
suite, as the response checks read it; elsewhere the schema is unchanged."""

from conformance.nullable import validator

DETAILS = {"type": "object", "properties": {"email": {"type": "string"}}}
SCHEMA = {
    "type": "object",
    "properties": {
        "details": {"allOf": [DETAILS], "nullable": True},
        "strict": {"allOf": [DETAILS]},
        "text": {"type": "string", "nullable": True},
        "plain": {"type": "string"},
    },
}


def test_nullable_beside_a_composition_admits_null_and_nothing_else_new() -> None:
    check = validator(SCHEMA)
    assert check.is_valid({"details": None, "text": None})
    assert check.is_valid({"details": {"email": "a@b.example"}})
    assert not check.is_valid({"details": "text"})
    assert not check.is_valid({"strict": None})
    assert not check.is_valid({"plain": None})
