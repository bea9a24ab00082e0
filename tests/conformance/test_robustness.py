"""The robustness layer: edge inputs from the spec, judged by status and by state."""

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli import EXIT_NOT_CONFORMANT, main
from conformance.edge_inputs import TIMESTAMPS, edge_cases
from conformance.http import TranscriptClient
from conformance.layers.robustness import CREATED, SERVER_ERROR, run_robustness
from conformance.requirements import build_catalogue
from conformance.results import Result, Verdict
from conformance.settings import PROFILES, Settings
from conformance.target import Target
from conformance.verbatim import VerbatimTransport
from kycspec.loader import load_all
from mockserver.app import create_app
from tests.conformance.conftest import SEED, Served
from tests.conformance.hostile import EdgeServerError, StoresRefused

SPECS = load_all()


def _checks(api: str, operation_id: str) -> set[str]:
    op = SPECS[api].operations[operation_id]
    target = Target(SPECS[api], "http://x", "test_edge")
    return {case.check for _, case in edge_cases(op, target, "test_edge")}


def test_robustness_edge_cases_come_from_the_spec() -> None:
    # Fin X creates take JSON and forms: every body kind, and form-only repeated fields
    assert _checks("finx", "createKycRecord") == {
        "header_fields",
        "edge_media_types",
        "content_codings",
        "edge_json",
        "non_utf8_bodies",
        "repeated_parameters",
    }
    # a list has no body: headers, a repeated query parameter, and its date-time filters
    assert _checks("kontorion", "listCustomerVerifications") == {
        "header_fields",
        "repeated_parameters",
        "edge_timestamps",
    }
    op = SPECS["kontorion"].operations["listCustomerVerifications"]
    target = Target(SPECS["kontorion"], "http://x", "test_edge")
    sent = [
        dict(case.request.query).get("occurred_after")
        for _, case in edge_cases(op, target, "test_edge")
        if case.check == "edge_timestamps"
    ]
    assert [value for value, _, _ in TIMESTAMPS] == [v for v in sent if v is not None]


def _robustness(served: Served, api: str) -> dict[str, Result]:
    target = served.target(api)
    results = run_robustness(
        target,
        build_catalogue(target.spec),
        Settings(PROFILES["robustness"], SEED, budget_s=120),
        lambda e: None,
    )
    return {r.requirement.check: r for r in results}


def test_robustness_a_500_on_an_unusual_media_type_fails(serve: Any) -> None:
    results = _robustness(serve(EdgeServerError(create_app())), "kontorion")
    media = results["edge_media_types"]
    assert media.verdict is Verdict.FAILED
    what = "createCustomerVerification with mixed-case media type"
    assert SERVER_ERROR.format(what=what, status=500) in media.message
    assert media.exchanges[-1].request_headers["content-type"] == "Application/JSON"


def test_robustness_a_refusal_that_stores_the_record_fails(serve: Any) -> None:
    results = _robustness(serve(StoresRefused(create_app())), "kontorion")
    codings = results["content_codings"]
    assert codings.verdict is Verdict.FAILED
    what = "createCustomerVerification with an unknown content coding"
    record = codings.message.split()[-6]  # the id of the record left behind
    resource = SPECS["kontorion"].operations["createCustomerVerification"].resource.name
    assert codings.message == CREATED.format(
        what=what, status=415, resource=resource, record=record
    )
    assert [e.method for e in codings.exchanges] == ["GET", "POST", "GET"]


@pytest.fixture
def raw_server() -> Iterator[tuple[str, list[bytes]]]:
    """A one-shot HTTP server that keeps the request bytes it got and answers 204."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            received.append(data)
            connection.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        listener.close()
        thread.join(timeout=5)


def test_robustness_verbatim_transport_keeps_header_whitespace(
    raw_server: tuple[str, list[bytes]],
) -> None:
    url, received = raw_server
    target = Target(SPECS["finx"], url, "test_raw")
    with TranscriptClient(target, transport=VerbatimTransport(5.0)) as client:
        exchange = client.request(
            "GET", "/v1/kyc", headers={"Authorization": " \tBearer test_raw \t"}
        )
    assert exchange.status == 204
    assert b"\r\nAuthorization:  \tBearer test_raw \t\r\n" in received[0]
    assert exchange.as_curl().count("<token>") == 1 and "test_raw" not in exchange.as_curl()


def test_robustness_cli_500_on_edge_inputs_is_a_failed_run(serve: Any) -> None:
    served: Served = serve(EdgeServerError(create_app()))
    args = ["run", "--api", "kontorion", "--base-url", served.url + "/kontorion"]
    args += ["--token", "test_cli", "--profile", "robustness", "--seed", "3"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_NOT_CONFORMANT, result.output
    assert "KONTORION-ROBUST-002" in result.output
