"""Field references (`kycspec.references`): every record field a declaration names must be a
property of its resource's record schema, or the spec is refused at load with the file, the
JSON pointer and the known fields; nothing loads to filter nothing or store null."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kycspec import references
from kycspec.loader import SpecError, build_spec, load_directory, read_document
from kycspec.problems import pointer
from tests.tinyspec import THING, tiny_document, with_list

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIRS = (ROOT / "specs", ROOT / "examples" / "specs")
SOURCE = "tiny.yaml"
KNOWN = "id, name, created_at, updated_at, status, expires_at, address"
STATES = ["open", "closed"]


def _thing(document: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = document["x-resources"]["thing"]
    return resource


def _document() -> dict[str, Any]:
    """The tiny spec with a status lifecycle, a clock field and a nested object."""
    document = tiny_document()
    properties = document["components"]["schemas"]["Thing"]["properties"]
    properties["status"] = {"type": "string", "enum": STATES, "readOnly": True}
    properties["expires_at"] = {"type": "string", "format": "date-time", "nullable": True}
    properties["address"] = {"type": "object", "properties": {"city": {"type": "string"}}}
    _thing(document)["lifecycle"] = {"field": "status", "states": STATES, "default": "open"}
    _clock(document, "expires_at")
    return document


def _refused(document: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as caught:
        build_spec("tiny", document, source=SOURCE)
    return caught.value


def _not_a_property(field: str, known: str = KNOWN, match: str | None = None) -> str:
    hint = references.DID_YOU_MEAN.format(match=match) if match else ""
    return references.NOT_A_PROPERTY.format(field=field, resource="thing", hint=hint, known=known)


def _clock(document: dict[str, Any], field: str) -> None:
    transition = {"from": ["open"], "to": "closed", "via": {"clock": field}}
    _thing(document)["lifecycle"]["transitions"] = [transition]


def _filter(document: dict[str, Any], name: str, declared: dict[str, Any]) -> None:
    param = {"name": name, "in": "query", "x-filter": declared, "schema": {"type": "string"}}
    with_list(document, [param], {"data": "$items"})


def _guard(document: dict[str, Any], condition: dict[str, Any]) -> None:
    document["paths"]["/things/{id}"]["post"] = {
        "operationId": "closeThing",
        "parameters": document["paths"]["/things/{id}"]["get"]["parameters"],
        "x-operation": {"role": "transition", "resource": "thing", "target": "closed"},
        "responses": copy.deepcopy(document["paths"]["/things/{id}"]["get"]["responses"]),
    }
    guard = {"require": condition, "message": "not yet"}
    transition = {"from": ["open"], "to": "closed", "via": {"operation": "closeThing"}}
    _thing(document)["lifecycle"]["transitions"] = [{**transition, "guards": [guard]}]


def _header(document: dict[str, Any], value: str) -> None:
    response = document["paths"]["/things"]["post"]["responses"]["201"]
    response["headers"] = {"Location": {"schema": {"type": "string"}, "x-value": value}}


LIFECYCLE = pointer("x-resources", "thing", "lifecycle")
CREATE = pointer("paths", "/things", "post")
LIST = pointer("paths", "/things", "get")
TRANSITIONS = pointer("x-resources", "thing", "lifecycle", "transitions", 0)

# (what is mutated, the pointer refused, the field named, the close match suggested)
CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str, str, str | None]] = {
    "x-filter field": (
        lambda d: _filter(d, "name", {"field": "nmae"}),
        LIST + "/parameters/0/x-filter",
        "nmae",
        "name",
    ),
    "x-filter named by its parameter": (
        lambda d: _filter(d, "city", {}),
        LIST + "/parameters/0/x-filter",
        "city",
        None,
    ),
    "clock field": (
        lambda d: _clock(d, "expires_att"),
        TRANSITIONS + "/via/clock",
        "expires_att",
        "expires_at",
    ),
    "on-enter field": (
        lambda d: _thing(d)["lifecycle"].update({"on-enter": {"closed": {"nam": "x"}}}),
        LIFECYCLE + "/on-enter/closed/nam",
        "nam",
        "name",
    ),
    "lifecycle field": (
        lambda d: _thing(d)["lifecycle"].update({"field": "state"}),
        LIFECYCLE + "/field",
        "state",
        "status",
    ),
    "id field": (
        lambda d: _thing(d)["id"].update({"field": "thing_id"}),
        pointer("x-resources", "thing", "id", "field"),
        "thing_id",
        None,
    ),
    "defaults field": (
        lambda d: _thing(d).update({"defaults": {"nmae": "x"}}),
        pointer("x-resources", "thing", "defaults", "nmae"),
        "nmae",
        "name",
    ),
    "derived field": (
        lambda d: _thing(d).update({"derived": {"nmae": "x"}}),
        pointer("x-resources", "thing", "derived", "nmae"),
        "nmae",
        "name",
    ),
    "$record path in a value": (
        lambda d: _thing(d).update({"defaults": {"name": "$record.no_such_field"}}),
        pointer("x-resources", "thing", "defaults", "name"),
        "no_such_field",
        None,
    ),
    "$count field": (
        lambda d: _thing(d).update({"derived": {"name": "$count:documents"}}),
        pointer("x-resources", "thing", "derived", "name"),
        "documents",
        None,
    ),
    "{record.path} in a $text template": (
        lambda d: _header(d, "$text:/things/{record.idd}"),
        CREATE + "/responses/201/headers/Location/x-value",
        "idd",
        "id",
    ),
    "$record path in an operation response": (
        lambda d: d["paths"]["/things"]["post"]["x-operation"].update(
            {"response": {"data": {"when": "$record.created"}}}
        ),
        CREATE + "/x-operation/response/data/when",
        "created",
        "created_at",
    ),
    "guard condition field": (
        lambda d: _guard(d, {"record.nmae": "x"}),
        TRANSITIONS + "/guards/0/require/record.nmae",
        "nmae",
        "name",
    ),
    "guard condition argument": (
        lambda d: _guard(d, {"body.name": {"in": "$record.names"}}),
        TRANSITIONS + "/guards/0/require/body.name/in",
        "names",
        "name",
    ),
    "operation set field": (
        lambda d: d["paths"]["/things"]["post"]["x-operation"].update({"set": {"nmae": "x"}}),
        CREATE + "/x-operation/set/nmae",
        "nmae",
        "name",
    ),
    "lookup field": (
        lambda d: d["paths"]["/things/{id}"]["get"]["x-operation"].update(
            {"lookup": {"field": "nmae", "from": "path.id"}}
        ),
        pointer("paths", "/things/{id}", "get", "x-operation", "lookup", "field"),
        "nmae",
        "name",
    ),
    "magic condition field": (
        lambda d: d.update(
            {
                "x-sandbox": {
                    "magic": [
                        {"operations": ["createThing"], "when": {"record.nmae": "x"}, "set": {}}
                    ]
                }
            }
        ),
        pointer("x-sandbox", "magic", 0, "when", "record.nmae"),
        "nmae",
        "name",
    ),
    "nested path": (
        lambda d: _thing(d).update({"defaults": {"name": "$record.address.cty"}}),
        pointer("x-resources", "thing", "defaults", "name"),
        "address.cty",
        "city",
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_a_reference_to_a_field_the_record_does_not_have_is_refused(kind: str) -> None:
    mutate, at, field, match = CASES[kind]
    document = _document()
    build_spec("tiny", copy.deepcopy(document), source=SOURCE)  # sound before the change
    mutate(document)
    refused = _refused(document)
    known = "city" if "." in field else KNOWN
    assert refused.pointer == at
    assert refused.problem == _not_a_property(field, known, match)
    assert str(refused).startswith(f"{SOURCE}#{at}: ")


@pytest.mark.parametrize(
    "schema",
    [{"type": "string"}, {"type": "boolean", "nullable": True}, {"type": "object"}],
    ids=["string", "boolean", "object"],
)
def test_a_clock_field_that_is_not_a_time_is_refused(schema: dict[str, Any]) -> None:
    document = _document()
    document["components"]["schemas"]["Thing"]["properties"]["expires_at"] = schema
    _clock(document, "expires_at")
    refused = _refused(document)
    assert refused.pointer == TRANSITIONS + "/via/clock"
    assert refused.problem == references.NOT_A_TIME.format(field="expires_at", resource="thing")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "date"},
        {"type": "integer"},
        {"allOf": [{"$ref": "#/components/schemas/When"}], "nullable": True},
    ],
    ids=["date-time", "date", "unix", "allOf-ref"],
)
def test_a_clock_field_that_is_a_time_loads(schema: dict[str, Any]) -> None:
    document = _document()
    document["components"]["schemas"]["When"] = {"type": "number"}
    document["components"]["schemas"]["Thing"]["properties"]["expires_at"] = schema
    _clock(document, "expires_at")
    spec = build_spec("tiny", document, source=SOURCE)
    lifecycle = spec.resources["thing"].lifecycle
    assert lifecycle is not None and lifecycle.clock_transitions[0].clock == "expires_at"


def test_properties_are_found_through_all_of_and_refs() -> None:
    document = _document()
    schemas = document["components"]["schemas"]
    schemas["Extra"] = {"type": "object", "properties": {"nickname": {"type": "string"}}}
    schemas["Thing"] = {"allOf": [schemas["Thing"], {"$ref": "#/components/schemas/Extra"}]}
    _thing(document)["defaults"] = {"nickname": "$record.name"}
    assert "nickname" in build_spec("tiny", copy.deepcopy(document)).resources["thing"].defaults
    _thing(document)["defaults"] = {"nicknam": "x"}
    refused = _refused(document)
    assert refused.problem == _not_a_property("nicknam", KNOWN + ", nickname", "nickname")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object"},
        {**THING, "additionalProperties": True},
        {**THING, "additionalProperties": {"type": "string"}},
    ],
    ids=["no-properties", "additional-true", "additional-schema"],
)
def test_an_open_record_schema_accepts_any_field(schema: dict[str, Any]) -> None:
    document = tiny_document()
    document["components"]["schemas"]["Thing"] = schema
    _thing(document)["defaults"] = {"anything": "$record.whatever"}
    _filter(document, "colour", {})
    spec = build_spec("tiny", document, source=SOURCE)
    assert spec.operations["listThings"].filters[0].field == "colour"


def test_a_parameter_by_ref_is_refused_at_its_component() -> None:
    document = _document()
    document["components"]["parameters"] = {
        "Colour": {"name": "colour", "in": "query", "x-filter": {}, "schema": {"type": "string"}}
    }
    with_list(document, [{"$ref": "#/components/parameters/Colour"}], {"data": "$items"})
    refused = _refused(document)
    assert refused.pointer == pointer("components", "parameters", "Colour", "x-filter")
    assert refused.problem == _not_a_property("colour")


def _shipped(path: Path) -> dict[str, Any]:
    return copy.deepcopy(read_document(path))


def test_a_webhook_payload_reads_fields_of_its_resource() -> None:
    path = ROOT / "specs" / "kontorion.yaml"
    document = _shipped(path)
    name, event = next(iter(document["x-webhooks"]["events"].items()))
    event["payload"] = {**event["payload"], "data": "$record.no_such_field"}
    with pytest.raises(SpecError) as caught:
        build_spec("kontorion", document, source=str(path))
    assert caught.value.pointer == pointer("x-webhooks", "events", name, "payload", "data")
    assert "'no_such_field' is not a property of resource 'verification'" in caught.value.problem


def test_a_feed_reads_fields_of_every_resource_it_records() -> None:
    path = ROOT / "examples" / "specs" / "onboardly.yaml"
    document = _shipped(path)
    feed = document["x-resources"]["event"]["records"]
    feed["set"] = {**feed["set"], "object": {"id": "$record.id", "result": "$record.result"}}
    with pytest.raises(SpecError) as caught:
        build_spec("onboardly", document, source=str(path))
    assert caught.value.pointer == pointer(
        "x-resources", "event", "records", "set", "object", "result"
    )
    assert "'result' is not a property of resource 'applicant'" in caught.value.problem


def test_parent_on_enter_names_fields_of_the_child() -> None:
    path = ROOT / "examples" / "specs" / "onboardly.yaml"
    document = _shipped(path)
    document["x-resources"]["check"]["parent"]["on-enter"] = {"redacted": {"reslt": None}}
    with pytest.raises(SpecError) as caught:
        build_spec("onboardly", document, source=str(path))
    at = pointer("x-resources", "check", "parent", "on-enter", "redacted", "reslt")
    assert caught.value.pointer == at
    assert "did you mean 'result'?" in caught.value.problem


@pytest.mark.parametrize("directory", SPEC_DIRS, ids=lambda d: d.parent.name + "/" + d.name)
def test_every_shipped_spec_still_loads(directory: Path) -> None:
    loaded = load_directory(directory)
    assert loaded.problems == ()
    assert len(loaded.specs) == len(list(directory.glob("*.yaml")))
