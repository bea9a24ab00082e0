"""Update semantics: JSON Merge Patch as RFC 7396 Appendix A says, and the plain merge."""

import pytest

from kycspec import vocabulary
from kycspec.loader import SpecError, build_spec
from kycspec.updates import UPDATE_SEMANTICS, merge, merge_patch
from tests.tinyspec import tiny_document

# RFC 7396 Appendix A: (original, patch, result)
RFC_7396_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC_7396_EXAMPLES)
def test_updates_merge_patch_follows_rfc_7396(original: dict, patch: dict, result: dict) -> None:
    before = repr(original)
    assert merge_patch(original, patch) == result
    assert repr(original) == before  # the record is left untouched


def test_updates_merge_replaces_one_level_and_keeps_nulls() -> None:
    assert merge({"a": {"b": 1}, "c": 2}, {"a": {"d": 3}, "c": None}) == {"a": {"d": 3}, "c": None}


def test_updates_merge_patch_media_type_picks_merge_patch() -> None:
    document = tiny_document()
    post = document["paths"]["/things"]["post"]
    post["requestBody"]["content"] = {
        "application/merge-patch+json": post["requestBody"]["content"]["application/json"]
    }
    assert build_spec("tiny", document).operations["createThing"].update == "merge-patch"


def test_updates_unknown_semantic_is_refused_at_load() -> None:
    document = tiny_document()
    document["paths"]["/things"]["post"]["x-operation"]["update"] = "json-patch"
    allowed = ", ".join(UPDATE_SEMANTICS.names())
    expected = vocabulary.NOT_ONE_OF.format(value="json-patch", allowed=allowed)
    with pytest.raises(SpecError) as refused:
        build_spec("tiny", document)
    assert str(refused.value) == f"tiny#/paths/~1things/post/x-operation/update: {expected}"
