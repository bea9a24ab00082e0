"""A spec the loader does not understand is refused: file, JSON pointer, what is allowed."""

from pathlib import Path
from typing import Any

import pytest
from connexion.decorators.parameter import sanitized

from kycspec import formfields, keywords
from kycspec.consistency import PARENT_PARAM
from kycspec.credentials import CREDENTIAL_SCHEMES
from kycspec.loader import READ_ONLY_UPDATE, SpecError, build_spec, read_document
from tests.tinyspec import tiny_document

SOURCE = "specs/tiny.yaml"


def test_loader_refuses_an_unsupported_security_scheme_naming_the_allowed_ones() -> None:
    document = tiny_document(
        {
            "oauth": {
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": "https://x/t", "scopes": {}}},
            }
        }
    )
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", document, source=SOURCE)
    message = str(raised.value)
    assert message.startswith(f"{SOURCE}#/components/securitySchemes/oauth: ")
    assert ", ".join(CREDENTIAL_SCHEMES.names()) in message


def test_loader_refuses_an_api_key_in_an_unknown_place() -> None:
    document = tiny_document(
        {"key": {"type": "apiKey", "in": "header", "name": "K", "x-prefix": 3}}
    )
    with pytest.raises(SpecError, match="x-prefix"):
        build_spec("tiny", document, source=SOURCE)


def test_loader_refuses_schemes_combined_in_one_requirement() -> None:
    document = tiny_document(
        {
            "a": {"type": "http", "scheme": "bearer"},
            "b": {"type": "apiKey", "in": "header", "name": "K"},
        }
    )
    document["paths"]["/things"]["post"]["security"] = [{"a": [], "b": []}]
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", document, source=SOURCE)
    assert str(raised.value).startswith(f"{SOURCE}#/paths/~1things/post: security requirement")


def test_loader_refuses_a_security_requirement_naming_no_scheme() -> None:
    document = tiny_document()
    document["security"] = [{"missing": []}]
    with pytest.raises(SpecError, match=r"unknown scheme\(s\) \['missing'\]; declared: bearerAuth"):
        build_spec("tiny", document, source=SOURCE)


def test_loader_two_success_responses_name_the_operation_and_file() -> None:
    document = tiny_document()
    responses = document["paths"]["/things"]["post"]["responses"]
    responses["200"] = responses["201"]
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", document, source=SOURCE)
    message = str(raised.value)
    assert message.startswith(f"{SOURCE}#/paths/~1things/post: ")
    assert "exactly one 2xx response" in message and "200, 201" in message


def test_loader_a_missing_key_is_a_spec_error_not_a_key_error() -> None:
    document = tiny_document()
    del document["x-resources"]["thing"]["id"]
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", document, source=SOURCE)
    assert str(raised.value) == f"{SOURCE}#/x-resources/thing: missing key 'id'"


def test_loader_public_and_credentials_follow_security() -> None:
    document = tiny_document()
    document["paths"]["/things/{id}"]["get"]["security"] = []
    spec = build_spec("tiny", document, source=SOURCE)
    assert spec.operations["getThing"].public and not spec.operations["getThing"].credentials
    create = spec.operations["createThing"]
    assert not create.public and [c.kind for c in create.credentials] == ["bearer"]


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "specs" / "onboardly.yaml"
FINX = Path(__file__).resolve().parents[2] / "specs" / "finx.yaml"


def test_loader_refuses_a_parent_that_is_not_a_resource() -> None:
    document = read_document(EXAMPLE)
    document["x-resources"]["check"]["parent"]["resource"] = "applicants"
    with pytest.raises(SpecError) as raised:
        build_spec("onboardly", document, source=SOURCE)
    assert str(raised.value).startswith(f"{SOURCE}#/x-resources/check/parent: parent resource")
    assert "known: applicant" in str(raised.value)


def test_loader_refuses_a_parent_state_that_does_not_exist() -> None:
    document = read_document(EXAMPLE)
    document["x-resources"]["check"]["parent"]["writable-in"] = ["open"]
    with pytest.raises(SpecError, match=r"\['open'\] are not states of 'applicant'"):
        build_spec("onboardly", document, source=SOURCE)


def test_loader_refuses_a_child_operation_without_the_parent_in_its_path() -> None:
    document = read_document(EXAMPLE)
    document["paths"]["/checks/{check_id}"] = document["paths"].pop(
        "/applicants/{applicant_id}/checks/{check_id}"
    )
    document["paths"]["/checks/{check_id}"]["parameters"].pop(0)
    with pytest.raises(SpecError) as raised:
        build_spec("onboardly", document, source=SOURCE)
    problem = PARENT_PARAM.format(
        child="check",
        parent="applicant",
        operations="getCheck",
        param="applicant_id",
        allowed="check_id",
    )
    assert str(raised.value) == f"{SOURCE}#/x-resources/check/parent/param: {problem}"


def test_loader_refuses_a_feed_of_an_unknown_resource() -> None:
    document = read_document(EXAMPLE)
    document["x-resources"]["event"]["records"]["of"] = ["applicant", "checks"]
    with pytest.raises(SpecError) as raised:
        build_spec("onboardly", document, source=SOURCE)
    assert str(raised.value).startswith(f"{SOURCE}#/x-resources/event/records/of: ['checks']")


def test_loader_takes_a_read_only_state_that_is_not_terminal() -> None:
    # Stripe's VerificationSession takes no update once it left `requires_input`
    document = read_document(EXAMPLE)
    document["x-resources"]["check"]["lifecycle"]["read-only"] = ["redacted", "complete"]
    spec = build_spec("onboardly", document, SOURCE)
    lifecycle = spec.resources["check"].lifecycle
    assert lifecycle is not None and lifecycle.read_only == ("redacted", "complete")


def test_loader_refuses_an_update_moving_a_record_out_of_a_read_only_state() -> None:
    document = read_document(FINX)
    document["x-resources"]["customer_verification"]["lifecycle"]["read-only"] = ["failed"]
    with pytest.raises(SpecError) as raised:
        build_spec("finx", document, SOURCE)
    problem = READ_ONLY_UPDATE.format(states=["failed"], operation="updateCustomerVerification")
    at = "/x-resources/customer_verification/lifecycle/transitions/2/via"
    assert (raised.value.pointer, raised.value.problem) == (at, problem)


def _with_query(*names: str) -> dict[str, Any]:
    document = tiny_document()
    document["paths"]["/things/{id}"]["get"]["parameters"] += [
        {"name": name, "in": "query", "schema": {"type": "string"}} for name in names
    ]
    return document


@pytest.mark.parametrize(
    ("first", "second"),
    [("created[lt]", "created_lt"), ("created_lt", "created[lt]"), ("created.lt", "createdlt")],
)
def test_loader_refuses_query_parameters_that_reach_the_server_as_one_keyword(
    first: str, second: str
) -> None:
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", _with_query(first, second), SOURCE)
    keyword = sanitized(second)
    problem = keywords.CLASH.format(
        kind="query", name=second, keyword=keyword, other=f"query parameter {first!r}"
    )
    # the first parameter is the path's `id`
    at = "/paths/~1things~1{id}/get/parameters/2"
    assert (raised.value.pointer, raised.value.problem) == (at, problem)


def test_loader_refuses_a_query_parameter_named_like_connexions_own_arguments() -> None:
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", _with_query("user"), SOURCE)
    other = keywords.RESERVED_CLASH.format(name="user")
    problem = keywords.CLASH.format(kind="query", name="user", keyword="user", other=other)
    assert raised.value.problem == problem


def test_loader_refuses_a_query_parameter_clashing_with_a_path_level_parameter() -> None:
    document = _with_query("i-d")
    item = document["paths"]["/things/{id}"]
    item["parameters"] = [item["get"]["parameters"].pop(0)]
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", document, SOURCE)
    assert raised.value.pointer == "/paths/~1things~1{id}/get/parameters/0"
    assert "as path parameter 'id' does" in raised.value.problem


def test_loader_takes_distinct_keywords_and_an_operation_overriding_a_path_parameter() -> None:
    document = _with_query("created[gte]", "created[lt]")
    item = document["paths"]["/things/{id}"]
    item["parameters"] = [dict(item["get"]["parameters"][0])]  # declared again on the operation
    spec = build_spec("tiny", document, SOURCE)
    names = [p["name"] for p in spec.operations["getThing"].parameters]
    assert names == ["id", "id", "created[gte]", "created[lt]"]


def test_loader_refuses_a_form_body_whose_fields_could_be_read_two_ways() -> None:
    document = tiny_document()
    create = document["paths"]["/things"]["post"]
    open_map = {"type": "object", "additionalProperties": {"type": "string"}}
    form = {"schema": {"type": "object", "properties": {"tags": open_map, "labels": open_map}}}
    create["requestBody"]["content"] = {"application/x-www-form-urlencoded": form}
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", document, source=SOURCE)
    where = "/paths/~1things/post/requestBody/content/application~1x-www-form-urlencoded"
    problem = formfields.OPEN_TWICE.format(first="tags", second="labels")
    assert str(raised.value) == f"{SOURCE}#{where}/schema/properties/labels: {problem}"


def test_loader_refuses_a_query_parameter_named_like_a_hyphenated_path_parameter() -> None:
    # connexion routes `{thing-id}` as `thing_id`
    document = _with_query("thing_id")
    item = document["paths"].pop("/things/{id}")
    item["get"]["parameters"][0]["name"] = "thing-id"
    document["paths"]["/things/{thing-id}"] = item
    with pytest.raises(SpecError) as raised:
        build_spec("tiny", document, SOURCE)
    assert "as path parameter 'thing-id' does" in raised.value.problem
