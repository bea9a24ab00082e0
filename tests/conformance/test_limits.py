"""Bounded by behaviour: size and time limits per answer, hanging operations, a stopped server."""

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from click.testing import CliRunner

from conformance.cli import EXIT_NOT_CONFORMANT, main
from conformance.events import Event, Progress
from conformance.http import TranscriptClient
from conformance.layers.lifecycle_plan import (
    MAX_TRANSPORT_ERRORS,
    UNREACHABLE,
    Run,
    Violation,
    build_plan,
)
from conformance.layers.lifecycle_scenario import Scenario
from conformance.layers.schema import BoundedSession, CutOff
from conformance.limits import (
    DECLARED_TOO_LARGE,
    KEPT_PREFIX_BYTES,
    NO_ANSWER,
    ResponseTooLarge,
    check_declared_length,
)
from conformance.results import Verdict
from conformance.runner import NOT_CHECKED, SERVER_STOPPED, is_conformant, run
from conformance.settings import Profile, Settings
from conformance.target import Target
from conformance.watch import DOWN, HANGING, LIMIT, NOT_SENT_HANGING
from kycspec.loader import load_all
from mockserver.app import create_app
from mockserver.testing import free_port
from tests.conformance.conftest import SEED, Served
from tests.conformance.hostile import OPENING, Endless, Hang, trickle

SPEC = load_all()["finx"]
SMALL = Profile("small", ("schema", "lifecycle", "security"), 2, 4, 6)


def _target(url: str, **options: Any) -> Target:
    return Target(SPEC, url + "/finx", "test_limits", **options)


def test_limits_endless_body_is_cut_off_at_the_size_limit(serve: Any) -> None:
    served: Served = serve(Endless(create_app()))
    target = _target(served.url, max_response_bytes=200_000)
    with TranscriptClient(target) as client:
        first = client.request("GET", "/v1/kyc")
        again = client.request("GET", "/v1/kyc")
    assert first.status is None and first.error and first.error.startswith("ResponseTooLarge")
    assert first.response_body and first.response_body.startswith(OPENING)
    assert len(first.response_body) <= KEPT_PREFIX_BYTES
    assert target.watch.unbounded_operations == {"GET /v1/kyc": first.error}
    # too large is not hanging: the next request is still sent (and cut off again)
    assert again.outage == LIMIT and again.error == first.error


def test_limits_trickling_body_is_cut_off_at_the_deadline(serve: Any) -> None:
    served: Served = serve(trickle(create_app()))
    target = _target(served.url, timeout=0.5)
    with TranscriptClient(target) as client:
        first = client.request("GET", "/v1/kyc")
        again = client.request("GET", "/v1/kyc?limit=1")
    assert first.error and first.error.startswith("ResponseTooSlow"), first.error
    assert again.outage == HANGING


def test_limits_hanging_operation_fails_fast_after_one_timeout(serve: Any) -> None:
    served: Served = serve(Hang(create_app(), "DELETE"))
    target = _target(served.url, timeout=2.0)  # the other request's answer must fit in it too
    with TranscriptClient(target) as client:
        first = client.request("DELETE", "/v1/kyc/kyc_one")
        second = client.request("DELETE", "/v1/kyc/kyc_two")
        other = client.request("GET", "/v1/kyc")
    # no answer in time broke the time limit: named as such, and not a lost connection
    assert first.error == NO_ANSWER.format(kind="ReadTimeout", timeout=2.0)
    assert first.outage == LIMIT
    assert second.outage == HANGING and second.elapsed_ms == 0.0
    assert second.error == NOT_SENT_HANGING.format(
        operation="DELETE /v1/kyc/{id}", first=f"DELETE {first.url}", error=first.error
    )
    assert other.status == 401  # answered (no token was sent)


def test_limits_declared_length_over_the_limit_is_refused_unread(mock: Served) -> None:
    with TranscriptClient(_target(mock.url, max_response_bytes=10)) as client:
        exchange = client.request("GET", "/v1/kyc", headers={"Authorization": "Bearer test_l"})
    assert exchange.error and "declares Content-Length" in exchange.error
    with pytest.raises(ResponseTooLarge) as refused:
        check_declared_length({"content-length": "11"}, 10)
    assert str(refused.value) == DECLARED_TOO_LARGE.format(length=11, limit=10)


def test_limits_schemathesis_session_is_bounded_too(serve: Any) -> None:
    served: Served = serve(Endless(create_app()))
    session = BoundedSession(_target(served.url, max_response_bytes=100_000))
    with session, pytest.raises(CutOff) as cut:
        session.get(served.url + "/finx/v1/kyc", timeout=5)
    assert cut.value.prefix.startswith(OPENING) and not cut.value.hangs
    hanging: Served = serve(Hang(create_app(), "GET"))
    with BoundedSession(_target(hanging.url)) as slow, pytest.raises(requests.Timeout):
        slow.get(hanging.url + "/finx/v1/kyc", timeout=0.5)


def test_limits_closed_port_marks_the_server_down() -> None:
    target = _target(f"http://127.0.0.1:{free_port()}")
    with TranscriptClient(target) as client:
        first = client.request("GET", "/v1/kyc")
        second = client.request("POST", "/v1/kyc")
    assert first.outage == DOWN and "ConnectError" in (first.error or "")
    assert second.outage == DOWN and second.error and second.error.startswith("not sent")


@pytest.fixture
def mock_process() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`mockserver serve` in its own process, so a test can kill it mid-run."""
    port = free_port()
    command = "from mockserver.cli import main; main()"
    args = [sys.executable, "-c", command, "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/__mock/snapshot", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url, process
    finally:
        process.kill()
        process.wait(timeout=10)


def test_limits_server_that_stops_mid_run_gives_errors_not_failures(
    mock_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = mock_process
    target = Target(SPEC, url + "/finx", "test_dies", "test_dies_b", "admin_dies")

    def emit(event: Event) -> None:
        if isinstance(event, Progress) and event.layer == "lifecycle" and event.done == 1:
            process.kill()
            process.wait(timeout=10)

    results = run(target, Settings(SMALL, SEED, budget_s=120), emit)
    by_layer = {name: [r for r in results if r.requirement.layer == name] for name in SMALL.layers}
    assert not any(r.verdict is Verdict.ERROR for r in by_layer["schema"])
    assert any(r.verdict is Verdict.ERROR for r in by_layer["lifecycle"])
    security = by_layer["security"]
    assert security and all(r.verdict is Verdict.ERROR for r in security)
    assert security[0].message.startswith(
        SERVER_STOPPED.format(what=NOT_CHECKED, after=0, first="", error="")[:20]
    )
    assert not any(r.verdict is Verdict.FAILED for r in by_layer["security"])
    assert not is_conformant(results)


def test_limits_cli_hanging_operation_is_a_failed_run(serve: Any) -> None:
    served: Served = serve(Hang(create_app(), "DELETE"))
    args = ["run", "--api", "finx", "--base-url", served.url + "/finx", "--token", "test_cli"]
    args += ["--profile", "security", "--timeout", "1", "--seed", "3"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_NOT_CONFORMANT, result.output
    assert "DELETE /v1/kyc/{id} hangs" in " ".join(result.output.split())


def test_limits_answers_cut_off_fail_the_requirement_not_a_stopped_server(serve: Any) -> None:
    served: Served = serve(Endless(create_app()))
    args = ["run", "--api", "kontorion", "--base-url", served.url + "/kontorion"]
    args += ["--token", "test_cli", "--control-url", served.url + "/__mock"]
    args += ["--profile", "lifecycle", "--max-response-bytes", "100000", "--seed", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_NOT_CONFORMANT, result.output
    shown = " ".join(result.output.split())
    assert "ResponseTooLarge" in shown and "FAILED" in shown
    assert UNREACHABLE not in shown


def test_limits_cut_off_list_fails_every_list_requirement(serve: Any) -> None:
    # Lists (and reads) answer without end: each list requirement that needed them fails
    # with the limit, none is skipped as unexercised or as a server that stopped answering.
    served: Served = serve(Endless(create_app(), methods=("GET",)))
    target = served.target("kontorion", max_response_bytes=100_000)
    results = run(target, Settings(Profile("lists", ("lifecycle",), 0, 3, 6), SEED), lambda e: None)
    verdicts = {r.requirement.check: r for r in results}
    for check in (
        "list_filters_exact",
        "pagination_complete",
        "limit_honoured",
    ):
        assert verdicts[check].verdict is Verdict.FAILED, verdicts[check]
        assert "ResponseTooLarge" in verdicts[check].message
    assert not any(UNREACHABLE in r.message for r in results)


def test_limits_answers_out_of_time_do_not_stop_the_lifecycle(serve: Any) -> None:
    # Timeouts on more operations than a stopped server takes: each one is the failure of the
    # requirement that sent it (the time limit named), and the run goes on.
    served: Served = serve(Hang(create_app(), "GET"))
    target = _target(served.url, timeout=0.3)
    plan = build_plan(SPEC, next(iter(SPEC.resources.values())), target)
    assert plan is not None
    with TranscriptClient(target) as client:
        scenario = Scenario(plan, Run(target, Settings(SMALL, SEED), client, {}))
        paths = ("/v1/kyc", "/v1/kyc/kyc_a", "/", "/v1", "/v1/kyc/kyc_b")
        assert len(paths) > MAX_TRANSPORT_ERRORS
        for path in paths:
            with pytest.raises(Violation) as failed:
                scenario._parsed("read_after_write", client.request("GET", path))
            assert "--timeout" in failed.value.message
    assert scenario.run.stopped is None
