"""The `x-` vocabulary (`kycspec/vocabulary.yaml`): anything the loader does not understand is
refused at load with the file, the JSON pointer and what is allowed there."""

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kycspec import vocabulary
from kycspec.loader import (
    NO_RESOURCES,
    STATEFUL_ONLY,
    SpecError,
    build_spec,
    load_directory,
    read_document,
)
from kycspec.model import CHOSEN_STATUSES, ERROR_KINDS, ROLES
from kycspec.paging import PAGING_STYLES
from kycspec.problems import DocumentError, pointer
from kycspec.stateless import MAKE_STATEFUL
from tests.tinyspec import tiny_document

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILES = sorted([*(ROOT / "specs").glob("*.yaml"), *(ROOT / "examples/specs").glob("*.yaml")])
DOCUMENTS = {path: read_document(path) for path in SPEC_FILES}
README = (ROOT / "specs" / "README.md").read_text(encoding="utf-8")

# Inside these keys everything is a value (any JSON, `$` expressions): a new key is data.
VALUE_KEYS = frozenset(
    {"response", "payload", "body", "item", "x-value", "set", "defaults", "derived", "on-enter"}
    | {"equals"}
)
# These objects map names of the author's choosing (resources, events, tokens, paths of a
# condition, headers of a partition) to what they declare: a new key is a new name.
NAMED_MAPS = frozenset({"x-resources", "events", "tokens", "when", "require", "partition"})


def _objects(node: Any, at: tuple[str | int, ...], inside: bool) -> Iterator[tuple[str | int, ...]]:
    """Every object inside an `x-` extension whose keys are vocabulary (not names or values)."""
    if isinstance(node, dict):
        keys = [k for k in at if isinstance(k, str)]
        free = any(k in VALUE_KEYS for k in keys) or (bool(keys) and keys[-1] in NAMED_MAPS)
        if inside and not free:
            yield at
        for key, value in node.items():
            yield from _objects(value, (*at, key), inside or key.startswith("x-"))
    elif isinstance(node, list):
        for number, item in enumerate(node):
            yield from _objects(item, (*at, number), inside)


def _at(document: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _refusal(path: Path, document: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as refused:
        build_spec(path.stem, document, source=str(path), openapi_valid=True)
    return refused.value


WALKED = [(path, where) for path, doc in DOCUMENTS.items() for where in _objects(doc, (), False)]


def test_vocabulary_walk_reaches_every_extension_of_every_spec() -> None:
    per_file = {path.name: sum(1 for p, _ in WALKED if p == path) for path in SPEC_FILES}
    assert len(SPEC_FILES) >= 5 and all(count >= 10 for count in per_file.values()), per_file
    kinds = {str(where[0]) if where[0] != "paths" else str(where[3]) for _, where in WALKED}
    kinds |= {str(w[-1]) for _, w in WALKED if isinstance(w[-1], str) and w[-1].startswith("x-")}
    assert {"x-resources", "x-sandbox", "x-errors", "x-webhooks", "x-idempotency"} <= kinds
    assert {"x-operation", "x-filter"} <= kinds


@pytest.mark.parametrize(
    ("path", "where"), WALKED, ids=[f"{p.name}#{pointer(*w)}" for p, w in WALKED]
)
def test_vocabulary_refuses_an_unknown_key_in_every_object_of_ours(
    path: Path, where: tuple[str | int, ...]
) -> None:
    document = copy.deepcopy(DOCUMENTS[path])
    _at(document, where)["bogus"] = 1
    refused = _refusal(path, document)
    assert refused.pointer == pointer(*where)
    assert re.fullmatch(r"unknown key 'bogus' \(allowed: [\w-]+(, [\w-]+)*\)", refused.problem)


def test_vocabulary_unknown_key_names_the_file_the_pointer_and_the_allowed_keys() -> None:
    document = tiny_document()
    document["x-resources"]["thing"]["id"]["prefix"] = "thg_"
    with pytest.raises(SpecError) as refused:
        build_spec("tiny", document, source="specs/tiny.yaml")
    expected = vocabulary.UNKNOWN_KEY.format(key="prefix", allowed="field, format, x-decision")
    assert str(refused.value) == f"specs/tiny.yaml#/x-resources/thing/id: {expected}"


def _operation(document: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"]["/things"]["post"]
    return operation


@pytest.mark.parametrize(
    ("change", "where", "expected"),
    [
        (
            lambda d: _operation(d)["x-operation"].update(role="make"),
            "/paths/~1things/post/x-operation/role",
            vocabulary.NOT_ONE_OF.format(value="make", allowed=", ".join(ROLES)),
        ),
        (
            lambda d: _operation(d)["x-operation"].update(admin="yes"),
            "/paths/~1things/post/x-operation/admin",
            vocabulary.WRONG_TYPE.format(expected="boolean", actual="string"),
        ),
        (
            lambda d: _operation(d)["x-operation"].pop("role"),
            "/paths/~1things/post/x-operation",
            vocabulary.MISSING.format(key="role"),
        ),
        (
            lambda d: d["x-resources"]["thing"].update(timestamps={"format": "iso"}),
            "/x-resources/thing/timestamps/format",
            vocabulary.NOT_ONE_OF.format(value="iso", allowed="rfc3339, unix"),
        ),
        (
            lambda d: d["x-resources"]["thing"].update(partition="header.X-Tenant"),
            "/x-resources/thing/partition",
            vocabulary.WRONG_TYPE.format(expected="array", actual="string"),
        ),
        (
            lambda d: d.update({"x-idempotency": "Idempotency-Key"}),
            "/x-idempotency",
            vocabulary.WRONG_TYPE.format(expected="object", actual="string"),
        ),
        (
            lambda d: d["x-errors"].update(statuses={"not_found": 410}),
            "/x-errors/statuses",
            vocabulary.UNKNOWN_KEY.format(key="not_found", allowed=", ".join(CHOSEN_STATUSES)),
        ),
        (
            lambda d: d["x-errors"].update(statuses={"invalid_transition": 200}),
            "/x-errors/statuses/invalid_transition",
            "200 is less than the minimum of 400",
        ),
        (
            lambda d: d["x-errors"].update(statuses={"invalid_transition": "400"}),
            "/x-errors/statuses/invalid_transition",
            vocabulary.WRONG_TYPE.format(expected="integer", actual="string"),
        ),
        (
            lambda d: d["x-errors"].update(bodies={"idempotency_error": {"error": "$detail"}}),
            "/x-errors/bodies",
            vocabulary.UNKNOWN_KEY.format(key="idempotency_error", allowed=", ".join(ERROR_KINDS)),
        ),
        (
            lambda d: d["components"]["securitySchemes"]["bearerAuth"].update({"x-prefix": 3}),
            "/components/securitySchemes/bearerAuth/x-prefix",
            vocabulary.WRONG_TYPE.format(expected="string", actual="integer"),
        ),
        (
            lambda d: d["x-resources"]["thing"].update(lifecycle={"field": "name", "stats": ["a"]}),
            "/x-resources/thing/lifecycle",
            vocabulary.UNKNOWN_CLOSE.format(
                key="stats",
                match="states",
                allowed="field, states, initial, default, terminal, read-only, on-enter, "
                "transitions, x-decision",
            ),
        ),
    ],
)
def test_vocabulary_refuses_wrong_types_and_values(change: Any, where: str, expected: str) -> None:
    document = tiny_document()
    change(document)
    with pytest.raises(SpecError) as refused:
        build_spec("tiny", document)
    assert (refused.value.pointer, refused.value.problem) == (where, expected)


def test_vocabulary_enums_come_from_the_registries() -> None:
    schema = vocabulary.schema()
    assert schema["$defs"]["pagingStyle"]["enum"] == PAGING_STYLES.names()
    assert schema["$defs"]["role"]["enum"] == list(ROLES)
    written = yaml.safe_load((ROOT / "kycspec" / vocabulary.SCHEMA_FILE).read_text())
    assert all("enum" not in written["$defs"][name] for name in vocabulary.REGISTERED)


FOREIGN = {
    (): ["x-logo", "x-tagGroups", "x-amazon-apigateway-cors", "x-readme"],
    ("paths", "/things", "post"): ["x-codeSamples", "x-amazon-apigateway-integration"],
    ("paths", "/things/{id}", "get", "parameters", 0): ["x-example", "x-nullable"],
}


@pytest.mark.parametrize(("where", "keys"), FOREIGN.items(), ids=list(map(str, FOREIGN)))
def test_vocabulary_accepts_other_tools_extensions(
    where: tuple[str | int, ...], keys: list[str]
) -> None:
    document = tiny_document()
    for key in keys:
        _at(document, where)[key] = {"anything": True}
    build_spec("tiny", document)


@pytest.mark.parametrize(
    ("where", "key", "match"),
    [
        ((), "x-resource", "x-resources"),
        ((), "x-sandbx", "x-sandbox"),
        ((), "x-webhook", "x-webhooks"),
        ((), "x-Errors", "x-errors"),
        (("paths", "/things", "post"), "x-operations", "x-operation"),
        (("paths", "/things/{id}", "get", "parameters", 0), "x-filters", "x-filter"),
    ],
)
def test_vocabulary_refuses_a_near_miss_of_an_extension_of_ours(
    where: tuple[str | int, ...], key: str, match: str
) -> None:
    document = tiny_document()
    _at(document, where)[key] = {}
    with pytest.raises(SpecError) as refused:
        build_spec("tiny", document)
    assert refused.value.pointer == pointer(*where, key)
    assert refused.value.problem.startswith(
        vocabulary.UNKNOWN_CLOSE.format(key=key, match=match, allowed="")[:-1]
    )
    assert match in refused.value.problem.split("allowed: ")[1].rstrip(")").split(", ")


@pytest.mark.parametrize("directory", ["specs", "examples/specs"])
def test_vocabulary_every_shipped_spec_loads(directory: str) -> None:
    loaded = load_directory(ROOT / directory)
    assert loaded.problems == ()
    assert len(loaded.specs) >= 2


def test_vocabulary_a_file_with_a_typo_is_refused_with_its_path(tmp_path: Path) -> None:
    document = read_document(ROOT / "specs" / "finx.yaml")
    document["x-sandbox"]["magic"][0]["sett"] = document["x-sandbox"]["magic"][0].pop("set")
    (tmp_path / "finx.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    (problem,) = load_directory(tmp_path).problems
    assert isinstance(problem, DocumentError)
    assert (problem.file, problem.pointer) == (str(tmp_path / "finx.yaml"), "/x-sandbox/magic/0")
    assert problem.message.startswith("unknown key 'sett' (did you mean 'set'? allowed: ")


def test_vocabulary_build_spec_refuses_invalid_openapi_as_a_spec_error() -> None:
    document = tiny_document()
    del _operation(document)["responses"]["201"]["description"]
    with pytest.raises(SpecError) as refused:
        build_spec("tiny", document, source="specs/tiny.yaml")
    assert refused.value.pointer == "/paths/~1things/post/responses/201"
    assert str(refused.value).startswith(
        "specs/tiny.yaml#/paths/~1things/post/responses/201: not valid OpenAPI 3.0: "
    )


def _allowed_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        yield from node.get("properties", {})
        for value in node.values():
            yield from _allowed_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _allowed_keys(item)


OPENAPI_KEYS = {"paths", "components", "parameters", "responses", "headers", "securitySchemes"}
OPENAPI_KEYS |= {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def test_vocabulary_every_allowed_key_is_documented_in_specs_readme() -> None:
    keys = set(_allowed_keys(vocabulary.schema())) - OPENAPI_KEYS
    mentioned = {key for key in keys if re.search(rf"`{re.escape(key)}[`:]|\b{key}:", README)}
    undocumented = sorted(keys - mentioned)
    assert undocumented == []


STATEFUL_ROOT = {
    "x-sandbox": {"tokens": {"TOKEN": {"sandbox": "docs"}}},
    "x-errors": {"mediaType": "application/json"},
    "x-webhooks": {"signature": {"header": "X-Signature"}, "events": {}},
    "x-idempotency": {"header": "Idempotency-Key"},
}


@pytest.mark.parametrize("key", STATEFUL_ONLY)
def test_vocabulary_a_plain_document_with_stateful_extensions_is_refused(key: str) -> None:
    document = read_document(ROOT / "tests" / "data" / "documents" / "petstore.yaml")
    document[key] = STATEFUL_ROOT[key]
    with pytest.raises(SpecError) as refused:
        build_spec("petstore", document)
    assert refused.value.pointer == f"/{key}"
    assert refused.value.problem == NO_RESOURCES.format(key=key, how=MAKE_STATEFUL)


@pytest.mark.parametrize(
    ("where", "key", "allowed"),
    [
        (
            (),
            "x-operation",
            "x-resources, x-sandbox, x-errors, x-idempotency, x-webhooks, x-decision",
        ),
        (("paths", "/things", "post"), "x-filter", "x-operation, x-decision"),
        (
            ("paths", "/things/{id}", "get", "parameters", 0),
            "x-value",
            "x-filter, x-page, x-decision",
        ),
    ],
)
def test_vocabulary_refuses_an_extension_of_ours_on_the_wrong_object(
    where: tuple[str | int, ...], key: str, allowed: str
) -> None:
    document = tiny_document()
    _at(document, where)[key] = "x"
    with pytest.raises(SpecError) as refused:
        build_spec("tiny", document)
    assert refused.value.pointer == pointer(*where, key)
    assert refused.value.problem == vocabulary.MISPLACED.format(key=key, allowed=allowed)


def test_vocabulary_a_near_miss_at_the_root_names_its_pointer_and_what_is_allowed(
    tmp_path: Path,
) -> None:
    document = read_document(ROOT / "specs" / "finx.yaml")
    document["x-idempotence"] = {"header": "Idempotency-Key"}
    (tmp_path / "finx.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    (problem,) = load_directory(tmp_path).problems
    assert problem.pointer == "/x-idempotence"
    assert str(problem).startswith(f"{tmp_path / 'finx.yaml'}#/x-idempotence: ")
    assert problem.message.startswith("unknown key 'x-idempotence' (did you mean 'x-idempotency'?")
    allowed = problem.message.split("allowed: ", 1)[1].rstrip(")").split(", ")
    assert {"x-resources", "x-idempotency", "x-errors"} <= set(allowed)
