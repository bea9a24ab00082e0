"""The webhooks layer: it passes the mock, and skips with the reason what it cannot reach.

Its power against broken deliveries is in tests/conformance/mutants.py (WEBHOOK_VARIANTS).
"""

from typing import Any

import pytest

from conformance.layers import webhooks as layer
from conformance.results import Result, Verdict
from conformance.runner import run
from conformance.settings import PROFILES, Settings
from kycspec.receiver import NO_SECRET as RECEIVER_NO_SECRET
from mockserver.app import create_app
from mockserver.outbox import signing_secret
from mockserver.testing import free_port
from tests.conformance.conftest import SEED, Served
from tests.conformance.mutants import FAST_WEBHOOKS

SETTINGS = PROFILES["webhooks"]


def _webhook_results(target: Any) -> dict[str, Result]:
    results = run(target, Settings(SETTINGS, SEED, budget_s=60), lambda e: None)
    return {r.requirement.check: r for r in results if r.requirement.layer == "webhooks"}


@pytest.mark.parametrize("api", ["finx", "kontorion", "finhub"])
def test_webhooks_layer_passes_the_mock(mock: Served, api: str) -> None:
    results = _webhook_results(mock.target(api))
    assert {check: r.verdict for check, r in results.items()} == {
        "webhook_event_emitted": Verdict.PASSED,
        "webhook_payload_valid": Verdict.PASSED,
        "webhook_signature_valid": Verdict.PASSED,
        "webhook_retried": Verdict.PASSED,
        "webhook_order_per_record": Verdict.PASSED,
    }, {check: r.message for check, r in results.items()}
    assert all(r.cases > 0 for r in results.values())


def test_webhooks_layer_without_a_way_to_register_skips_with_the_reason(mock: Served) -> None:
    results = _webhook_results(mock.target("kontorion", control_url=None))
    assert {(r.verdict, r.message, r.fix) for r in results.values()} == {
        (Verdict.SKIPPED, layer.NO_REGISTRATION, "--control-url")
    }


def test_webhooks_layer_with_a_receiver_registered_by_hand(serve: Any) -> None:
    """A server without the control plane: the user registered --webhook-receiver with it and
    gives the secret; the clock-driven change cannot be reached, so that unit is left out."""
    port = free_port()
    app = create_app(webhook_urls=(f"http://127.0.0.1:{port}/webhooks",), **FAST_WEBHOOKS)
    served: Served = serve(app)
    target = served.target(
        "kontorion",
        control_url=None,
        webhook_receiver=f"127.0.0.1:{port}",
        webhook_secret=signing_secret("conf"),
    )
    results = _webhook_results(target)
    emitted = results.pop("webhook_event_emitted")
    assert emitted.verdict is Verdict.SKIPPED
    assert "covered 4 of 5" in emitted.message or "4 of 5" in emitted.message, emitted.message
    assert layer.NO_CLOCK in emitted.message
    assert {check: r.verdict for check, r in results.items()} == dict.fromkeys(
        results, Verdict.PASSED
    )


def test_webhooks_layer_without_a_secret_skips_the_signature_only(serve: Any) -> None:
    port = free_port()
    app = create_app(webhook_urls=(f"http://127.0.0.1:{port}/webhooks",), **FAST_WEBHOOKS)
    served: Served = serve(app)
    target = served.target("finx", control_url=None, webhook_receiver=f"127.0.0.1:{port}")
    results = _webhook_results(target)
    signed = results.pop("webhook_signature_valid")
    assert (signed.verdict, signed.message, signed.fix) == (
        Verdict.SKIPPED,
        layer.NO_SECRET,
        "--webhook-secret",
    )
    assert {r.verdict for r in results.values()} == {Verdict.PASSED}
    assert RECEIVER_NO_SECRET  # the receiver answered them unverified, with a 2xx
