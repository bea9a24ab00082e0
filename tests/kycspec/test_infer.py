"""`kycspec.infer`: the x- extensions REST conventions imply for a plain document."""

from pathlib import Path

import yaml

from kycspec import infer as inference
from kycspec.documents import read_openapi
from kycspec.loader import INFER_GAPS, build_spec, load_spec

DOCUMENTS = Path(__file__).resolve().parent.parent / "data" / "documents"

ORDERS = {
    "openapi": "3.0.3",
    "info": {"title": "Orders", "version": "1"},
    "paths": {
        "/orders": {
            "get": {
                "operationId": "listOrders",
                "responses": {
                    "200": {
                        "description": "a page",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "data": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Order"},
                                        },
                                        "has_more": {"type": "boolean"},
                                    },
                                }
                            }
                        },
                    }
                },
            },
            "post": {
                "operationId": "createOrder",
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Order"}}
                    }
                },
                "responses": {"201": {"$ref": "#/components/responses/One"}},
            },
        },
        "/orders/{orderId}": {
            "parameters": [
                {"name": "orderId", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {
                "operationId": "getOrder",
                "responses": {"200": {"$ref": "#/components/responses/One"}},
            },
            "patch": {
                "operationId": "updateOrder",
                "responses": {"200": {"$ref": "#/components/responses/One"}},
            },
            "delete": {"operationId": "deleteOrder", "responses": {"204": {"description": "gone"}}},
        },
    },
    "components": {
        "responses": {
            "One": {
                "description": "one order",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}},
            }
        },
        "schemas": {
            "Order": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "format": "uuid", "readOnly": True},
                    "status": {"type": "string", "enum": ["open", "paid", "shipped"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            }
        },
    },
}


def test_a_collection_and_its_items_become_a_resource_with_roles() -> None:
    found = inference.infer(ORDERS)
    assert found.gaps == []
    order = found.resources["order"]
    assert order["schema"] == "#/components/schemas/Order"
    assert order["id"] == {"field": "id", "format": "{uuid}"}
    assert order["timestamps"] == {
        "format": "rfc3339",
        "created": "created_at",
        "updated": "updated_at",
    }
    roles = {key: ext["role"] for key, ext in found.operations.items()}
    assert roles == {
        ("/orders", "get"): "list",
        ("/orders", "post"): "create",
        ("/orders/{orderId}", "get"): "read",
        ("/orders/{orderId}", "patch"): "update",
        ("/orders/{orderId}", "delete"): "delete",
    }
    assert found.operations[("/orders", "get")]["response"] == {
        "data": "$items",
        "has_more": "$has_more",
    }
    assert "response" not in found.operations[("/orders/{orderId}", "delete")]


def test_a_status_enum_becomes_a_permissive_lifecycle_that_loads() -> None:
    found = inference.infer(ORDERS)
    lifecycle = found.resources["order"]["lifecycle"]
    assert lifecycle["states"] == ["open", "paid", "shipped"]
    assert lifecycle["default"] == "open"
    assert {t["to"] for t in lifecycle["transitions"]} == {"open", "paid", "shipped"}
    spec = build_spec("orders", found.applied(ORDERS))
    assert spec.stateful
    assert spec.resources["order"].lifecycle is not None
    assert set(spec.operations) == {
        "listOrders",
        "createOrder",
        "getOrder",
        "updateOrder",
        "deleteOrder",
    }


def test_the_printed_extensions_are_yaml_to_paste() -> None:
    text = inference.infer(ORDERS).as_yaml()
    assert (
        yaml.safe_load(text.split("# paths.", 1)[0])["x-resources"]["order"]["id"]["field"] == "id"
    )
    assert "# paths./orders.get\n" in text


def test_what_does_not_fit_is_listed_and_the_document_stays_stateless() -> None:
    document = read_openapi(DOCUMENTS / "petstore.yaml").content
    found = inference.infer(document)
    assert found.gaps == [inference.INTEGER_ID.format(path="/pets/{petId}", field="id")]
    assert found.operations == {}
    spec = load_spec(DOCUMENTS / "petstore.yaml", infer=True)
    assert not spec.stateful
    assert spec.notes == (INFER_GAPS.format(gap=found.gaps[0]),)


def test_an_operation_outside_any_resource_is_a_gap() -> None:
    document = {
        **ORDERS,
        "paths": {**ORDERS["paths"], "/health": {"get": ORDERS["paths"]["/orders"]["get"]}},
    }
    found = inference.infer(document)
    assert found.gaps == [inference.NO_RESOURCE.format(method="GET", path="/health")]


def test_a_3_1_document_and_a_multi_file_one_become_stateful() -> None:
    assert load_spec(DOCUMENTS / "museum-3.1.yaml", infer=True).stateful
    library = load_spec(DOCUMENTS / "library.yaml", infer=True)
    assert library.stateful
    assert library.resources["book"].id_field == "bookId"
