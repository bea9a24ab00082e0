"""Webhooks: every declared change is delivered, signed, retried, in order, never in the way."""

import itertools
import re
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from kycspec import signature
from kycspec.loader import load_all
from mockserver import control, errors, outbox
from mockserver.app import create_app
from mockserver.delivery import POLL_INTERVAL_S
from mockserver.outbox import NOT_A_WEBHOOK_URL, RetryPolicy
from mockserver.testing import WebhookReceiver, serve_in_thread
from tests.mockserver.conftest import (
    CONTROL,
    FINHUB,
    FINX,
    KONTORION,
    bearer,
    finhub_headers,
    finx_body,
    kontorion_body,
)
from tests.mockserver.webhookhelp import (
    FAST,
    deliveries,
    eventually,
    fast_mock,
    listen,
    settings,
    settled,
    subscribe,
)

SPECS = load_all()


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """One mock for the module; each test uses sandboxes of its own."""
    with fast_mock() as url:
        yield url


@pytest.fixture
def mock(mock_url: str) -> Iterator[tuple[str, WebhookReceiver]]:
    with WebhookReceiver() as receiver:
        yield mock_url, receiver


def _schema_of(api: str, event: str) -> Any:
    hooks = SPECS[api].webhooks
    assert hooks is not None
    return hooks.events[event].schema


def _conforms(api: str, payload: Any, event: str) -> None:
    problems = list(OAS30Validator(_schema_of(api, event)).iter_errors(payload))
    assert problems == [], problems


def _create(url: str, sandbox: str, **fields: str) -> str:
    response = httpx.post(
        f"{url}{KONTORION}/customer-verifications",
        json=kontorion_body(**fields),
        headers=bearer(f"test_{sandbox}"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _set_status(url: str, sandbox: str, record_id: str, status: str, token: str = "admin_") -> Any:
    return httpx.patch(
        f"{url}{KONTORION}/customer-verifications/{record_id}/status",
        json={"status": status},
        headers=bearer(f"{token}{sandbox}"),
    )


def test_webhooks_a_create_is_delivered_signed_and_matching_its_schema(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    listen(url, "wh1", receiver)
    record_id = _create(url, "wh1")
    (event,) = receiver.wait_for()
    assert event["type"] == "customer_verification.created"
    assert event["data"]["id"] == record_id
    _conforms("kontorion", event, "customer_verification.created")
    delivery = receiver.received[0]
    header = delivery.headers["X-Kontorion-Signature"]
    assert signature.verify(receiver.secret or "", header, delivery.body, now=delivery.at)


def test_webhooks_refused_requests_emit_nothing_and_events_follow_the_record(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    listen(url, "wh2", receiver)
    record_id = _create(url, "wh2")
    assert _set_status(url, "wh2", record_id, "verified", token="test_").status_code == 403
    assert _set_status(url, "wh2", record_id, "verified").status_code == 200
    assert _set_status(url, "wh2", record_id, "verified").status_code == 409
    assert _set_status(url, "wh2", record_id, "expired").status_code == 200
    events = receiver.wait_for(count=3)
    assert [e["type"] for e in events] == [
        "customer_verification.created",
        "customer_verification.verified",
        "customer_verification.expired",
    ]
    assert [e["data"]["status"] for e in events] == ["pending", "verified", "expired"]
    assert len(settled(url, "wh2", 3)) == 3


def test_webhooks_a_subscriber_failing_twice_gets_the_event_on_the_third_attempt(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    listen(url, "wh3", receiver)
    receiver.fail_next(2)
    _create(url, "wh3")
    (event,) = receiver.wait_for()
    assert [d.answered for d in receiver.received] == [503, 503, 200]
    assert len({d.payload["id"] for d in receiver.received}) == 1  # the same event, retried
    (delivery,) = settled(url, "wh3", 1)
    assert delivery["state"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [503, 503, 200]
    assert delivery["next_attempt_at"] is None
    assert delivery["payload"] == event


def test_webhooks_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_webhooks_retries_stop_after_the_last_attempt(mock: tuple[str, WebhookReceiver]) -> None:
    url, receiver = mock
    listen(url, "wh4", receiver)
    receiver.fail_next(100, status=500)
    _create(url, "wh4")
    (delivery,) = settled(url, "wh4", 1)
    assert delivery["state"] == "failed"
    assert [a["status"] for a in delivery["attempts"]] == [500] * 4  # FAST.max_attempts
    # a redelivery starts the retry schedule again
    again = httpx.post(f"{url}{CONTROL}/webhooks/wh4/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202
    eventually(lambda: len(deliveries(url, "wh4")[0]["attempts"]) == 8)
    (redelivered,) = settled(url, "wh4", 1)
    assert redelivered["state"] == "failed"
    assert [a["status"] for a in redelivered["attempts"]] == [500] * 8


def test_webhooks_a_refusal_that_no_retry_can_fix_fails_at_once_and_redelivery_sends_again(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    listen(url, "wh5", receiver)
    secret = receiver.secret
    receiver.secret = "whsec_wrong"
    _create(url, "wh5")
    (delivery,) = settled(url, "wh5", 1)
    assert delivery["state"] == "failed"
    assert [a["status"] for a in delivery["attempts"]] == [400]
    assert receiver.received[0].problem == signature.MISMATCH
    receiver.secret = secret
    again = httpx.post(f"{url}{CONTROL}/webhooks/wh5/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202
    assert again.json()["state"] == "pending"
    (event,) = receiver.wait_for()
    assert event == delivery["payload"]
    (delivered,) = settled(url, "wh5", 1)
    assert [a["status"] for a in delivered["attempts"]] == [400, 200]


def test_webhooks_moving_the_clock_fires_what_became_due(mock: tuple[str, WebhookReceiver]) -> None:
    url, receiver = mock
    listen(url, "wh6", receiver, events=["customer_verification.expired"])
    record_id = _create(url, "wh6", provider="sandbox_expiring")
    advanced = httpx.post(f"{url}{CONTROL}/sandboxes/wh6/clock/advance", json={"seconds": 61})
    assert advanced.status_code == 200
    (event,) = receiver.wait_for()
    assert (event["type"], event["data"]["id"]) == ("customer_verification.expired", record_id)
    assert (
        event["created_at"] == event["data"]["expires_at"]
        or event["created_at"] >= event["data"]["expires_at"]
    )


def test_webhooks_a_record_s_events_wait_for_its_earlier_ones(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    listen(url, "wh7", receiver)
    receiver.fail_next(2)
    record_id = _create(url, "wh7")
    assert _set_status(url, "wh7", record_id, "verified").status_code == 200
    events = receiver.wait_for(count=2)
    assert [e["type"] for e in events] == [
        "customer_verification.created",
        "customer_verification.verified",
    ]
    first_verified = next(
        n for n, d in enumerate(receiver.received) if d.payload["type"].endswith("verified")
    )
    assert first_verified == 3  # after the created event's two failures and its success


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung subscriber)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_webhooks_a_hung_subscriber_holds_up_neither_requests_nor_other_sandboxes(
    mock: tuple[str, WebhookReceiver], silent_port: int
) -> None:
    url, receiver = mock
    subscribe(url, "hung", f"http://127.0.0.1:{silent_port}/hooks")
    listen(url, "alive", receiver)
    _create(url, "hung")  # answered while its delivery waits on the hung subscriber
    _create(url, "alive")
    (event,) = receiver.wait_for()
    assert event["type"] == "customer_verification.created"
    (stuck,) = deliveries(url, "hung")
    assert (stuck["state"], stuck["attempts"]) == ("pending", [])  # still waiting for its answer


def test_webhooks_a_refused_connection_is_retried_and_logged(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, _ = mock
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subscribe(url, "down", f"http://127.0.0.1:{port}/hooks")
    _create(url, "down")
    (delivery,) = settled(url, "down", 1)
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == 4
    assert all(a["status"] is None and a["error"] for a in delivery["attempts"])


def test_webhooks_subscriptions_filter_survive_a_reset_and_end_with_unsubscribe(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    receiver.secret = settings(url, "wh8")["secret"]
    subscription = subscribe(url, "wh8", receiver.url, ["customer_verification.verified"])
    assert httpx.post(f"{url}{CONTROL}/sandboxes/wh8/reset").status_code == 204
    assert settings(url, "wh8")["subscriptions"] == [subscription]
    record_id = _create(url, "wh8")
    assert _set_status(url, "wh8", record_id, "verified").status_code == 200
    (event,) = receiver.wait_for()
    assert event["type"] == "customer_verification.verified"
    gone = httpx.delete(f"{url}{CONTROL}/webhooks/wh8/subscriptions/{subscription['id']}")
    assert gone.status_code == 204
    assert settings(url, "wh8")["subscriptions"] == []
    assert len(settled(url, "wh8", 1)) == 1


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("ftp://example.com/hook", outbox.NOT_HTTP),
        ("/relative", outbox.NOT_HTTP),
        ("http://127.0.0.1:99999/hooks", outbox.BAD_PORT),
        *(
            (f"http://127.0.0.1:9000/a{ch}b", outbox.WHITESPACE_OR_CONTROL)
            for ch in ("\u0000", "\t", "\n", "\u007f", " ")
        ),
    ],
)
def test_webhooks_a_subscription_needs_a_url_the_worker_can_send_to(
    mock: tuple[str, WebhookReceiver], target: str, reason: str
) -> None:
    url, _ = mock
    refused = httpx.post(f"{url}{CONTROL}/webhooks/wh9/subscriptions", json={"url": target})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    problem = NOT_A_WEBHOOK_URL.format(url=target, reason=reason)
    assert refused.json()["detail"] == errors.printable(
        control.INVALID_FIELD.format(field="url", problem=problem)
    )
    assert settings(url, "wh9")["subscriptions"] == []


def test_webhooks_a_subscription_names_at_least_one_event(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    body = {"url": receiver.url, "events": []}
    refused = httpx.post(f"{url}{CONTROL}/webhooks/wh9/subscriptions", json=body)
    assert refused.status_code == 400
    assert refused.json()["detail"] == control.INVALID_FIELD.format(
        field="events", problem=control.NO_EVENTS
    )


def test_webhooks_a_subscription_for_some_apis_gets_only_their_events(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    receiver.secret = settings(url, "wh10")["secret"]
    subscriptions = f"{url}{CONTROL}/webhooks/wh10/subscriptions"
    other = httpx.post(subscriptions, json={"url": receiver.url, "apis": ["finhub"]})
    mine = httpx.post(subscriptions, json={"url": receiver.url, "apis": ["kontorion"]})
    assert (other.status_code, other.json()["apis"]) == (201, ["finhub"])
    _create(url, "wh10")
    (event,) = receiver.wait_for()
    assert event["type"] == "customer_verification.created"
    (delivery,) = settled(url, "wh10", 1)
    assert delivery["subscription"] == mine.json()["id"]
    unknown = httpx.post(subscriptions, json={"url": receiver.url, "apis": ["nope"]})
    assert unknown.status_code == 400
    assert unknown.json()["detail"] == control.UNKNOWN_API.format(
        api="nope", known="finhub, finx, kontorion"
    )


def test_webhooks_a_failure_to_send_is_a_failed_attempt_in_the_log() -> None:
    app = create_app(webhook_retry=FAST, webhook_poll_s=0.02)
    # past the control plane's check, as a subscription written by an older version may be
    app.server.outbox.subscribe("bad", "http://127.0.0.1:9000/a\x00b", None)
    with serve_in_thread(app) as url:
        _create(url, "bad")
        (delivery,) = settled(url, "bad", 1)
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == FAST.max_attempts
    assert all(a["error"].startswith("InvalidURL") for a in delivery["attempts"])


def test_webhooks_deleting_a_subscription_cancels_its_pending_deliveries(
    mock: tuple[str, WebhookReceiver], silent_port: int
) -> None:
    url, _ = mock
    subscription = subscribe(url, "cancel", f"http://127.0.0.1:{silent_port}/hooks")
    _create(url, "cancel")
    (pending,) = deliveries(url, "cancel")
    assert pending["state"] == "pending"
    gone = httpx.delete(f"{url}{CONTROL}/webhooks/cancel/subscriptions/{subscription['id']}")
    assert gone.status_code == 204
    (cancelled,) = deliveries(url, "cancel")
    assert cancelled["state"] == "failed"
    assert cancelled["next_attempt_at"] is None
    assert cancelled["reason"] == outbox.SUBSCRIPTION_DELETED.format(id=subscription["id"])
    again = httpx.post(f"{url}{CONTROL}/webhooks/cancel/deliveries/{pending['id']}/redeliver")
    assert again.status_code == 410
    assert again.json()["detail"] == control.SUBSCRIPTION_GONE.format(
        id=pending["id"], subscription=subscription["id"]
    )
    assert deliveries(url, "cancel")[0]["state"] == "failed"


def test_webhooks_retries_wait_their_backoff_not_the_poll_interval() -> None:
    policy = RetryPolicy(base_delay_s=0.01, max_delay_s=1.0, max_attempts=4, timeout_s=2.0)
    with fast_mock(retry=policy, poll_s=POLL_INTERVAL_S) as url, WebhookReceiver() as receiver:
        listen(url, "quick", receiver)
        receiver.fail_next(2)
        _create(url, "quick")
        (delivery,) = settled(url, "quick", 1)
    assert [a["status"] for a in delivery["attempts"]] == [503, 503, 200]
    at = [datetime.fromisoformat(a["at"]).timestamp() for a in delivery["attempts"]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(at)]
    # each retry waits its own backoff (base, then twice the base), not a poll of the worker
    assert gaps[0] >= policy.delay(1) - 0.001
    assert gaps[1] >= policy.delay(2) - 0.001
    assert all(gap < POLL_INTERVAL_S for gap in gaps), gaps


def test_webhooks_control_plane_names_what_it_does_not_know(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    unknown = httpx.post(
        f"{url}{CONTROL}/webhooks/wh9/subscriptions",
        json={"url": receiver.url, "events": ["customer_verification.approved"]},
    )
    assert unknown.status_code == 400
    assert unknown.json()["detail"].startswith(
        control.UNKNOWN_EVENT.split("{known}")[0].format(event="customer_verification.approved")
    )
    missing = httpx.delete(f"{url}{CONTROL}/webhooks/wh9/subscriptions/whs_nope")
    assert missing.status_code == 404
    assert missing.json()["detail"] == control.NO_SUBSCRIPTION.format(sandbox="wh9", id="whs_nope")
    for path in ("deliveries/dlv_nope", "deliveries/dlv_nope/redeliver"):
        method = "POST" if path.endswith("redeliver") else "GET"
        answer = httpx.request(method, f"{url}{CONTROL}/webhooks/wh9/{path}")
        assert answer.status_code == 404
        assert answer.json()["detail"] == control.NO_DELIVERY.format(sandbox="wh9", id="dlv_nope")


def test_webhooks_settings_show_the_secret_headers_and_events(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, _ = mock
    shown = settings(url, "one")
    assert shown["secret"].startswith("whsec_")
    assert shown["secret"] != settings(url, "two")["secret"]
    assert shown["apis"]["kontorion"]["signature_header"] == "X-Kontorion-Signature"
    assert shown["apis"]["finhub"]["events"] == [
        "verification.initiated",
        "verification.status_changed",
    ]


def test_webhooks_finhub_reports_each_status_a_verification_enters(
    mock: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = mock
    listen(url, "fh", receiver)
    initiated = httpx.post(
        f"{url}{FINHUB}/customer/individual/cust_low_1/verification/initiate",
        headers=finhub_headers("test_fh"),
    )
    assert initiated.status_code == 200, initiated.text
    submitted = httpx.post(
        f"{url}{FINHUB}/customer/individual/cust_low_1/verification",
        headers=finhub_headers("test_fh"),
        json={
            "verificationType": "STANDARD",
            "verificationData": {"documentType": "PASSPORT", "documentNumber": "AB123456"},
        },
    )
    assert submitted.status_code == 200, submitted.text
    events = receiver.wait_for(count=2)
    assert [(e["eventType"], e["data"]["status"]) for e in events] == [
        ("verification.initiated", "INITIATED"),
        ("verification.status_changed", "PENDING_REVIEW"),
    ]
    for event in events:
        _conforms("finhub", event, event["eventType"])
    assert receiver.received[0].headers["X-FinHub-Signature"].startswith("t=")


def test_webhooks_finx_events_are_stripe_style(mock: tuple[str, WebhookReceiver]) -> None:
    url, receiver = mock
    listen(url, "fx", receiver)
    created = httpx.post(f"{url}{FINX}/kyc", json=finx_body(), headers=bearer("test_fx"))
    assert created.status_code in (200, 201), created.text
    record_id = created.json()["id"]
    updated = httpx.put(
        f"{url}{FINX}/kyc/{record_id}",
        json={"verification_status": "verified"},
        headers=bearer("test_fx"),
    )
    assert updated.status_code == 200, updated.text
    events = receiver.wait_for(count=2)
    assert [e["type"] for e in events] == ["kyc_record.created", "kyc_record.status_updated"]
    assert events[1]["data"]["object"]["verification_status"] == "verified"
    assert isinstance(events[1]["created"], int)
    for event in events:
        _conforms("finx", event, event["type"])


def test_webhooks_readme_example_runs_as_written() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    (example,) = [block for block in blocks if "WebhookReceiver()" in block]
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)
    namespace["test_verified_customers_are_reported"]()


def test_webhooks_receiver_verifies_a_body_scheme_signature() -> None:
    body = b'{"payload": {"action": "check.completed"}}'
    good = signature.sign("token_123", 0, body, scheme=signature.BODY)
    with WebhookReceiver(secret="token_123", header="X-SHA2-Signature", scheme="body") as receiver:
        for value in (good, "00" + good[2:]):
            httpx.post(receiver.url, content=body, headers={"X-SHA2-Signature": value})
    assert [(d.answered, d.problem) for d in receiver.received] == [
        (200, None),
        (400, signature.BODY_MISMATCH),
    ]
