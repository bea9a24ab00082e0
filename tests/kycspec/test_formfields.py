"""kycspec.formfields: the form encoding the suite sends and the reading the mock applies agree
for every value a schema allows (OpenAPI 3.0.3 §4.7.14; Stripe's bracketed fields)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kycspec import formfields
from kycspec.formfields import FormFieldError, carried, decode, encode, wire_text

METADATA = {"type": "object", "additionalProperties": {"type": "string"}}
LIMITS = {
    "type": "object",
    "properties": {"daily": {"type": "integer"}, "online": {"type": "boolean"}},
}
SCHEMA = {
    "type": "object",
    "properties": {
        "holder": {"type": "string"},
        "active": {"type": "boolean"},
        "rate": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "metadata": METADATA,
        "limits": LIMITS,
        "nested": {"type": "object", "additionalProperties": METADATA},
    },
}
DEEP = {"style": "deepObject", "explode": True}
ENCODING = {"metadata": DEEP, "limits": DEEP, "nested": DEEP}


def _fields(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, text in pairs:
        fields.setdefault(name, []).append(text)
    return fields


def test_encode_follows_each_property_style_and_spells_scalars_as_json() -> None:
    body = {
        "holder": "h",
        "active": True,
        "rate": 1.5,
        "tags": ["a", "b"],
        "metadata": {"a[b": "1", "c]": "2"},
        "limits": {"daily": 5, "online": False},
        "gone": None,
        "empty": {},
    }
    assert encode(body, ENCODING) == [
        ("holder", "h"),
        ("active", "true"),
        ("rate", "1.5"),
        ("tags", "a"),
        ("tags", "b"),
        ("metadata[a[b]", "1"),
        ("metadata[c]]", "2"),
        ("limits[daily]", "5"),
        ("limits[online]", "false"),
    ]


@pytest.mark.parametrize(
    ("encoding", "value", "fields"),
    [
        ({}, {"R": 100, "G": 200}, [("R", "100"), ("G", "200")]),
        ({"style": "form", "explode": False}, {"R": 1, "G": 2}, [("color", "R,1,G,2")]),
        ({"style": "spaceDelimited"}, [1, 2], [("color", "1 2")]),
        ({"style": "pipeDelimited"}, [1, 2], [("color", "1|2")]),
        ({"style": "form", "explode": False}, [True, False], [("color", "true,false")]),
        ({"contentType": "application/json"}, {"a": [1]}, [("color", '{"a": [1]}')]),
        (DEEP, {}, []),
        (DEEP, [{"a": 1}], [("color[0][a]", "1")]),
    ],
)
def test_encode_covers_the_encoding_object_styles(
    encoding: dict[str, object], value: object, fields: list[tuple[str, str]]
) -> None:
    assert encode({"color": value}, {"color": encoding}) == fields


def test_wire_text_is_json_for_scalars() -> None:
    assert [wire_text(v) for v in (True, False, None, 3, 1.5, "x")] == [
        "true",
        "false",
        "",
        "3",
        "1.5",
        "x",
    ]


@pytest.mark.parametrize(
    ("fields", "metadata"),
    [
        ({"metadata[a[b]": ["1"]}, {"a[b": "1"}),
        ({"metadata[a]]": ["1"]}, {"a]": "1"}),
        ({"metadata[]": ["1"]}, {"": "1"}),
        ({"metadata[[]]": ["1"]}, {"[]": "1"}),
        ({"metadata[a][b]": ["1"], "metadata[a]": ["2"]}, {"a][b": "1", "a": "2"}),
    ],
)
def test_a_key_of_a_map_of_text_is_the_text_between_the_first_and_final_bracket(
    fields: dict[str, list[str]], metadata: dict[str, str]
) -> None:
    assert decode(fields, SCHEMA, ENCODING) == {"metadata": metadata}


def test_a_key_that_holds_an_object_is_split_at_the_first_bracket() -> None:
    fields = {"nested[a[b][c]": ["1"], "limits[daily]": ["7"], "limits[online]": ["true"]}
    assert decode(fields, SCHEMA, ENCODING) == {
        "nested": {"a[b": {"c": "1"}},
        "limits": {"daily": 7, "online": True},
    }


def test_a_key_with_a_closing_bracket_cannot_hold_an_object() -> None:
    with pytest.raises(FormFieldError) as refused:
        decode({"nested[a]][c]": ["1"]}, SCHEMA, ENCODING)
    assert (refused.value.kind, refused.value.name) == (formfields.UNREADABLE, "nested[a]][c]")


def test_carried_drops_what_a_form_cannot_send() -> None:
    body = {"a": None, "b": {}, "c": {"d": [], "e": 1}, "f": [None, {}], "g": ""}
    assert carried(body) == {"c": {"e": 1}, "g": ""}


text = st.text(st.characters(codec="utf-8"), max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    metadata=st.dictionaries(text, text, max_size=5),
    nested=st.dictionaries(
        text.filter(lambda key: "]" not in key), st.dictionaries(text, text, max_size=3), max_size=3
    ),
    daily=st.integers(-(2**53), 2**53),
    online=st.booleans(),
)
def test_what_the_suite_encodes_the_mock_reads_back(
    metadata: dict[str, str], nested: dict[str, dict[str, str]], daily: int, online: bool
) -> None:
    body = {
        "metadata": metadata,
        "nested": nested,
        "limits": {"daily": daily, "online": online},
    }
    read = decode(_fields(encode(body, ENCODING)), SCHEMA, ENCODING)
    assert read == carried(body)


ADDRESS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"line1": {"type": "string"}, "floor": {"type": "integer"}},
}
EXPLODED = {  # no encoding declared: `address` and `labels` are exploded `form` objects
    "type": "object",
    "additionalProperties": False,
    "properties": {"holder": {"type": "string"}, "address": ADDRESS, "labels": METADATA},
}


def test_exploded_object_members_fold_into_the_property_that_takes_them() -> None:
    fields = {"holder": ["h"], "line1": ["a"], "floor": ["3"], "x": ["1"], "y[z]": ["2"]}
    assert decode(fields, EXPLODED, {}) == {
        "holder": "h",
        "address": {"line1": "a", "floor": 3},
        "labels": {"x": "1", "y[z]": "2"},
    }


def test_an_open_exploded_object_splits_a_key_that_may_hold_an_object() -> None:
    schema = {**EXPLODED, "properties": {"holder": {}, "extra": {"type": "object"}}}
    assert decode({"k[a]": ["1"], "m": ["2"]}, schema, {}) == {"extra": {"k": {"a": "1"}, "m": "2"}}


@pytest.mark.parametrize(
    ("fields", "kind", "name"),
    [
        ({"nope": ["1"]}, formfields.UNKNOWN, "nope"),
        ({"limits[daily]": ["1"], "nope": ["1"]}, formfields.UNKNOWN, "nope"),
        ({"line1": ["a"], "address": ["x"]}, formfields.CONFLICT, "line1"),
        ({"line1": ["a", "b"]}, formfields.REPEATED, "line1"),
    ],
)
def test_a_field_no_exploded_object_takes_is_refused(
    fields: dict[str, list[str]], kind: str, name: str
) -> None:
    schema = {**EXPLODED, "properties": {"address": ADDRESS, "limits": LIMITS}}
    with pytest.raises(FormFieldError) as refused:
        decode(fields, schema, {"limits": DEEP})
    assert (refused.value.kind, refused.value.name) == (kind, name)


def test_a_body_that_takes_any_property_keeps_a_field_no_object_declares() -> None:
    schema = {"type": "object", "properties": {"address": ADDRESS}}
    assert decode({"nope": ["1"], "line1": ["a"]}, schema, {}) == {
        "nope": "1",
        "address": {"line1": "a"},
    }


def test_what_the_suite_encodes_as_exploded_objects_the_mock_reads_back() -> None:
    body = {"holder": "h", "address": {"line1": "a", "floor": 2}, "labels": {"k": "v", "a[b]": ""}}
    assert decode(_fields(encode(body, {})), EXPLODED, {}) == body


def _object(**properties: object) -> dict[str, object]:
    return {"type": "object", "properties": properties}


@pytest.mark.parametrize(
    ("schema", "encoding", "found"),
    [
        (EXPLODED, {}, None),
        (EXPLODED, {"labels": DEEP}, None),
        ({**EXPLODED, "additionalProperties": True}, {"labels": DEEP}, None),
        (
            _object(holder={}, a=_object(holder={})),
            {},
            ("a", formfields.TOP_LEVEL_MEMBER.format(key="holder", owner="a")),
        ),
        (
            {**EXPLODED, "properties": {"a": ADDRESS, "b": ADDRESS}},
            {},
            ("b", formfields.DECLARED_TWICE.format(key="line1", first="a", second="b")),
        ),
        (
            {**EXPLODED, "properties": {"a": METADATA, "b": {"type": "object"}}},
            {},
            ("b", formfields.OPEN_TWICE.format(first="a", second="b")),
        ),
        (
            _object(labels=METADATA),
            {},
            ("labels", formfields.OPEN_BODY.format(owner="labels")),
        ),
        (_object(labels=METADATA), {"labels": {"contentType": "application/json"}}, None),
        (_object(labels=METADATA), {"labels": {"style": "form", "explode": False}}, None),
    ],
)
def test_an_ambiguous_form_body_is_found(
    schema: dict[str, object], encoding: dict[str, object], found: tuple[str, str] | None
) -> None:
    assert formfields.ambiguity(schema, encoding) == found
