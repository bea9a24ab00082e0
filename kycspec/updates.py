"""Update semantics: how an `update` operation's body changes the stored record.

One registered function per semantic (`UPDATE_SEMANTICS`), read by the mock (to write) and by
the conformance suite's model (to predict), so both apply the same rule:

- `merge`: the body's fields replace the record's, one level deep (a `PUT` of some fields).
- `merge-patch`: JSON Merge Patch (RFC 7396 section 2): objects merge recursively, `null`
  removes a field, anything else replaces it. The default for an operation whose request
  body is `application/merge-patch+json`.

An operation picks one with `x-operation.update`; an unknown name is refused at load.
"""

import copy
from collections.abc import Callable, Mapping
from typing import Any

from kycspec.registry import Registry
from kycspec.types import JSONObject

MERGE_PATCH_MEDIA = "application/merge-patch+json"
Update = Callable[[JSONObject, Mapping[str, Any]], JSONObject]
"""An update semantic. An implementer must:

- register under its name in `UPDATE_SEMANTICS`;
- return the changed record as a new object, leaving both arguments untouched;
- only ever change the fields the body names (the engine drops read-only ones beforehand).
"""
UPDATE_SEMANTICS: Registry[Update] = Registry("update semantic")


@UPDATE_SEMANTICS.decorator("merge")
def merge(record: JSONObject, changes: Mapping[str, Any]) -> JSONObject:
    # a copy of each object or array the body holds; a string, number or null is one already
    return {**record, **{key: _copied(value) for key, value in changes.items()}}


def _copied(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _merge_patch(target: Any, patch: Any) -> Any:
    # RFC 7396 section 2, MergePatch(Target, Patch)
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = _merge_patch(result.get(name), value)
    return result


@UPDATE_SEMANTICS.decorator("merge-patch")
def merge_patch(record: JSONObject, changes: Mapping[str, Any]) -> JSONObject:
    merged: JSONObject = _merge_patch(record, changes)
    return merged


def update_semantic(extension: Mapping[str, Any], media_types: tuple[str, ...]) -> str:
    """The semantic an operation declares (`x-operation.update`, a registered name: the
    vocabulary, `kycspec.vocabulary`, refuses any other), else the one its media type implies."""
    name = extension.get("update")
    if name is None:
        return "merge-patch" if MERGE_PATCH_MEDIA in media_types else "merge"
    return str(name)
