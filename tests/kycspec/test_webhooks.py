"""`x-webhooks` is compiled at load; every mistake is refused naming its JSON pointer."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kycspec import vocabulary, webhooks
from kycspec.loader import SPECS_DIR, SpecError, build_spec, load_all, read_document

KONTORION = read_document(SPECS_DIR / "kontorion.yaml")
EVENTS = "/x-webhooks/events"
VERIFIED = f"{EVENTS}/customer_verification.verified"


def _refused(change: Callable[[dict[str, Any]], None]) -> str:
    document = copy.deepcopy(KONTORION)
    change(document)
    with pytest.raises(SpecError) as refused:
        build_spec("kontorion", document)
    return str(refused.value)


def _hooks(document: dict[str, Any]) -> Any:
    return document["x-webhooks"]


def _verified(document: dict[str, Any]) -> Any:
    return document["x-webhooks"]["events"]["customer_verification.verified"]


def test_webhooks_seed_specs_declare_their_events() -> None:
    declared = {
        name: list(spec.webhooks.events) for name, spec in load_all().items() if spec.webhooks
    }
    assert declared == {
        "finhub": ["verification.initiated", "verification.status_changed"],
        "finx": [
            "customer_verification.created",
            "customer_verification.status_updated",
            "kyc_record.created",
            "kyc_record.status_updated",
        ],
        "kontorion": [
            "customer_verification.created",
            "customer_verification.verified",
            "customer_verification.failed",
            "customer_verification.expired",
        ],
    }


def test_webhooks_triggers_pick_the_events_of_a_change() -> None:
    hooks = load_all()["kontorion"].webhooks
    assert hooks is not None
    assert [e.name for e in hooks.emitted("verification", "verified", "create")] == [
        "customer_verification.created"
    ]
    assert [e.name for e in hooks.emitted("verification", "expired", "clock")] == [
        "customer_verification.expired"
    ]
    assert hooks.emitted("verification", "pending", "operation") == []
    assert hooks.emitted("other", "verified", "operation") == []


def test_webhooks_via_restricts_the_trigger() -> None:
    document = copy.deepcopy(KONTORION)
    document["x-webhooks"]["events"]["customer_verification.expired"]["trigger"]["via"] = "clock"
    hooks = build_spec("kontorion", document).webhooks
    assert hooks is not None
    assert [e.name for e in hooks.emitted("verification", "expired", "clock")]
    assert hooks.emitted("verification", "expired", "operation") == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: _hooks(d).update(retries=3),
            "/x-webhooks: "
            + vocabulary.UNKNOWN_KEY.format(
                key="retries", allowed="signature, event-id, events, x-decision"
            ),
        ),
        (
            lambda d: _hooks(d).pop("signature"),
            "/x-webhooks: " + vocabulary.MISSING.format(key="signature"),
        ),
        (
            lambda d: _hooks(d)["signature"].update(scheme="md5"),
            "/x-webhooks/signature/scheme: "
            + vocabulary.NOT_ONE_OF.format(value="md5", allowed="timestamped, body"),
        ),
        (
            lambda d: _hooks(d)["signature"].update(header="X Bad"),
            "/x-webhooks/signature/header: " + webhooks.BAD_HEADER.format(value="X Bad"),
        ),
        (
            lambda d: _verified(d).update(resource="verifications"),
            f"{VERIFIED}/resource: "
            + webhooks.UNKNOWN_RESOURCE.format(value="verifications", allowed="verification"),
        ),
        (
            lambda d: _verified(d).update(trigger={"enter": ["approved"]}),
            f"{VERIFIED}/trigger/enter/0: "
            + webhooks.UNKNOWN_STATE.format(
                value="approved", allowed="pending, verified, failed, expired"
            ),
        ),
        (
            lambda d: _verified(d).update(trigger={"enter": ["verified"], "via": "cron"}),
            f"{VERIFIED}/trigger/via: "
            + vocabulary.NOT_ONE_OF.format(value="cron", allowed="operation, clock"),
        ),
        (
            lambda d: _verified(d).update(trigger="update"),
            f"{VERIFIED}/trigger: "
            + vocabulary.NOT_ONE_OF.format(value="update", allowed="create"),
        ),
        (
            lambda d: _verified(d).update(schema="#/components/schemas/Verification"),
            f"{VERIFIED}/schema: "
            + webhooks.NO_CALLBACK.format(value="#/components/schemas/Verification"),
        ),
        (
            lambda d: _verified(d).update(schema="#/components/schemas/Missing"),
            f"{VERIFIED}/schema: "
            + webhooks.BAD_SCHEMA.format(value="#/components/schemas/Missing"),
        ),
        (
            lambda d: _verified(d).update(payload={"data": "$recrod"}),
            f"{VERIFIED}/payload/data: unknown expression '$recrod'",
        ),
        (
            lambda d: _hooks(d).update({"event-id": "evt_{nope:3}"}),
            "/x-webhooks/event-id: ",
        ),
    ],
)
def test_webhooks_mistakes_are_refused_at_load(
    change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    assert expected in _refused(change)


def test_webhooks_the_callback_schema_may_come_from_an_operation_of_its_own() -> None:
    def inline_callback(document: dict[str, Any]) -> None:
        create = document["paths"]["/v1/customer-verifications"]["post"]
        create["callbacks"] = copy.deepcopy(document["components"]["callbacks"])
        for path in ("/v1/customer-verifications/{id}/status",):
            document["paths"][path]["patch"].pop("callbacks")
        document["components"].pop("callbacks")

    document = copy.deepcopy(KONTORION)
    inline_callback(document)
    assert build_spec("kontorion", document).webhooks is not None


def test_webhooks_an_openapi_3_1_webhooks_entry_documents_the_payload_too() -> None:
    document = {
        "webhooks": {
            "verificationEvent": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/VerificationEvent"}
                            }
                        }
                    }
                }
            }
        }
    }
    assert list(webhooks.callback_bodies(document)) == ["#/components/schemas/VerificationEvent"]


def test_webhooks_the_template_says_where_a_payload_holds_its_event_id_and_type() -> None:
    template = {"data": {"id": "$event.id", "attributes": {"name": "$event.type"}}}
    assert webhooks.template_path(template, "$event.type") == ("data", "attributes", "name")
    payload = {"data": {"id": "evt_1", "attributes": {"name": "inquiry.approved"}}}
    assert webhooks.at_path(payload, webhooks.template_path(template, "$event.id")) == "evt_1"
    assert webhooks.at_path(payload, ("data", "missing")) is None
    assert webhooks.template_path([{"a": "$event.id"}], "$event.id") == (0, "a")
    assert webhooks.template_path(template, "$event.created") is None
