"""The suite expects the refusals a spec's `x-errors` declares (`statuses`, `bodies`): a server
that ignores them (the mock serving the same spec without them) fails, the mock passes."""

import re
from pathlib import Path
from typing import Any

import pytest

from conformance.envelopes import WRONG_ENVELOPE, WRONG_STATUS
from conformance.http import TranscriptClient
from conformance.layers.idempotency import check_idempotency
from conformance.requirements import build_catalogue
from conformance.results import Result, Verdict
from conformance.tally import Tally
from mockserver.app import create_app
from mockserver.testing import serve_in_thread
from tests.conformance.thingspec import (
    lifecycle_document,
    run_lifecycle_layer,
    target_for,
    write_both,
)

REFUSALS = ("forbidden_transitions_refused", "read_only_states_refuse_writes")


def _declaring(**errors: Any) -> dict[str, Any]:
    document = lifecycle_document()
    document["x-errors"].update(errors)
    document["x-idempotency"] = {"header": "Idempotency-Key"}
    return document


def _verdicts(results: list[Result]) -> dict[str, tuple[Verdict, str]]:
    return {r.requirement.check: (r.verdict, r.message) for r in results}


def test_declared_refusal_status_is_expected_of_every_refused_write(tmp_path: Path) -> None:
    checked = _declaring(statuses={"invalid_transition": 400})
    verdicts = _verdicts(run_lifecycle_layer(tmp_path, lifecycle_document(), checked))
    failed = [verdicts[check][1] for check in REFUSALS if verdicts[check][0] is Verdict.FAILED]
    assert failed, verdicts
    assert all("answered 409" in message and "with 400" in message for message in failed)


def test_declared_refusal_envelope_is_expected_of_every_refused_write(tmp_path: Path) -> None:
    body = {"error": "$code"}
    served = _declaring(body=body, codes={"invalid_transition": "state_conflict"})
    checked = _declaring(body=body, codes={"invalid_transition": "unexpected_state"})
    verdicts = _verdicts(run_lifecycle_layer(tmp_path, served, checked))
    failed = [verdicts[check][1] for check in REFUSALS if verdicts[check][0] is Verdict.FAILED]
    assert failed, verdicts
    wrong = WRONG_ENVELOPE.format(
        kind="invalid_transition",
        problems="error is 'state_conflict', expected 'unexpected_state'",
    )
    assert all(wrong in message for message in failed), failed


def test_declared_refusal_status_passes_on_the_mock(tmp_path: Path) -> None:
    codes = {"invalid_transition": "unexpected_state"}
    document = _declaring(
        statuses={"invalid_transition": 400}, codes=codes, body={"error": "$code"}
    )
    results = run_lifecycle_layer(tmp_path, document, document)
    verdicts = _verdicts(results)
    bad = {k: v for k, v in verdicts.items() if v[0] in (Verdict.FAILED, Verdict.ERROR)}
    assert bad == {}
    assert all(verdicts[check][0] is Verdict.PASSED for check in REFUSALS), verdicts
    statements = {r.requirement.check: r.requirement.statement for r in results}
    assert "refused with 400" in statements["forbidden_transitions_refused"]


def _idempotency(tmp_path: Path, served: dict[str, Any], checked: dict[str, Any]) -> Tally:
    spec, served_dir = write_both(tmp_path, served, checked)
    requirement = next(r for r in build_catalogue(spec) if r.check == "idempotent_retries")
    tally = Tally(requirement)
    with (
        serve_in_thread(create_app(served_dir)) as url,
        TranscriptClient(target_for(spec, url)) as client,
    ):
        check_idempotency(client, client.target, "thing", tally)
    return tally


REUSED = {"statuses": {"idempotency_key_reused": 422}}
OWN_BODY = {"bodies": {"idempotency_key_reused": {"error": "$code"}}}


@pytest.mark.parametrize(
    ("declared", "wrong"),
    [
        (REUSED, WRONG_STATUS.format(status=400, expected=422, kind="idempotency_key_reused")),
        (OWN_BODY, WRONG_ENVELOPE.format(kind="idempotency_key_reused", problems="")),
    ],
    ids=["status", "envelope"],
)
def test_declared_idempotency_refusal_is_expected(
    tmp_path: Path, declared: dict[str, Any], wrong: str
) -> None:
    tally = _idempotency(tmp_path, _declaring(), _declaring(**declared))
    assert tally.cases == 1
    assert len(tally.failures) == 1 and wrong in tally.failures[0], tally.failures


@pytest.mark.parametrize("declared", [{}, REUSED, OWN_BODY], ids=["default", "status", "envelope"])
def test_declared_idempotency_refusal_passes_on_the_mock(
    tmp_path: Path, declared: dict[str, Any]
) -> None:
    document = _declaring(**declared)
    tally = _idempotency(tmp_path, document, document)
    assert (tally.cases, tally.failures) == (1, [])


# `processing` is read-only but not terminal: no update, the clock still moves it to `done`
WHILE_PROCESSING = {"read_only": ("processing", "done"), "terminal": ("done",)}


def test_a_read_only_state_that_is_not_terminal_is_expected_to_refuse_updates(
    tmp_path: Path,
) -> None:
    checked = lifecycle_document(**WHILE_PROCESSING)
    verdicts = _verdicts(run_lifecycle_layer(tmp_path, lifecycle_document(), checked))
    verdict, message = verdicts["read_only_states_refuse_writes"]
    assert verdict is Verdict.FAILED, verdicts
    # in processing, or at the clock's moment where the model allows processing or done
    assert "updateThing on thg_" in message, message
    assert re.search(r" \(in processing( or done)?\) answered 200;", message), message


def test_a_read_only_state_that_is_not_terminal_passes_on_the_mock(tmp_path: Path) -> None:
    document = lifecycle_document(**WHILE_PROCESSING)
    verdicts = _verdicts(run_lifecycle_layer(tmp_path, document, document))
    bad = {k: v for k, v in verdicts.items() if v[0] in (Verdict.FAILED, Verdict.ERROR)}
    assert bad == {}
    # refused while processing or done, accepted while open, and the clock still moves it
    for check in ("read_only_states_refuse_writes", "read_after_write", "clock_expiry"):
        assert verdicts[check][0] is Verdict.PASSED, verdicts[check]
