"""`mockserver serve`: argument errors exit non-zero with a clear message; good ones start."""

import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from mockserver import cli
from mockserver.outbox import BAD_PORT, NOT_A_WEBHOOK_URL, NOT_HTTP
from mockserver.outbox import WHITESPACE_OR_CONTROL as WHITESPACE
from tests.mockserver.conftest import FINX, bearer

GOOD = """records:
  - sandbox: cli
    api: finx
    resource: kyc_record
    record:
      id: CliFixture000001
      customer_id: Customer00000001
      verification_status: pending
      document_type: passport
      document_number: '1'
"""


def _serve(*args: str) -> Any:
    """`mockserver serve` in this process, on a free port unless `args` name one."""
    port = [] if "--port" in args else ["--port", "0"]
    return CliRunner().invoke(cli.main, ["serve", *port, *args])


def test_cli_serve_loads_a_fixtures_file(tmp_path: Path, started: dict[str, Any]) -> None:
    path = tmp_path / "fixtures.yaml"
    path.write_text(GOOD)
    result = _serve("--fixtures", str(path))
    assert result.exit_code == 0, result.output
    assert started["address"][1] > 0
    with TestClient(started["app"]) as client:
        response = client.get(f"{FINX}/kyc/CliFixture000001", headers=bearer("test_cli"))
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("records: [", "cannot read"),
        ("{}", '"records" list'),
        ("records:\n  - sandbox: x\n", "records[0] lacks api, resource, record"),
        (
            "records:\n  - {sandbox: x, api: nope, resource: r, record: {}}\n",
            "no API named 'nope'",
        ),
        (
            "records:\n  - {sandbox: x, api: finx, resource: kyc_record, record: {id: 5}}\n",
            "kyc_record record",
        ),
    ],
)
def test_cli_serve_bad_fixtures_file_exits_with_a_message(
    tmp_path: Path, started: dict[str, Any], text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = _serve("--fixtures", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "Error:" in result.output
    assert started == {}


def test_cli_serve_missing_fixtures_file_is_a_usage_error(
    tmp_path: Path, started: dict[str, Any]
) -> None:
    result = _serve("--fixtures", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert started == {}


def test_cli_serve_unknown_api_exits_with_a_message(started: dict[str, Any]) -> None:
    result = _serve("--api", "nope")
    assert result.exit_code == 1
    assert "unknown API 'nope'" in result.output
    assert started == {}


def test_cli_serve_one_api_at_the_root(started: dict[str, Any]) -> None:
    result = _serve("--api", "finx")
    assert result.exit_code == 0, result.output
    with TestClient(started["app"]) as client:
        assert client.get("/v1/kyc", headers=bearer("test_root")).status_code == 200
        assert client.get("/finx/v1/kyc", headers=bearer("test_root")).status_code == 404


def test_cli_serve_token_prefixes(started: dict[str, Any]) -> None:
    result = _serve("--user-prefix", "sk_test_", "--admin-prefix", "sk_admin_")
    assert result.exit_code == 0, result.output
    with TestClient(started["app"]) as client:
        assert client.get(f"{FINX}/kyc", headers=bearer("sk_test_a")).status_code == 200
        assert client.get(f"{FINX}/kyc", headers=bearer("test_a")).status_code == 401


def test_cli_serve_bad_port_is_a_usage_error(started: dict[str, Any]) -> None:
    result = _serve("--port", "eighty")
    assert result.exit_code == 2
    assert started == {}


def test_cli_serve_busy_port_is_a_clear_error_before_any_banner(started: dict[str, Any]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve("--port", str(port))
    assert result.exit_code == cli.EXIT_CANNOT_BIND
    assert cli.CANNOT_BIND.format(host="127.0.0.1", port=port, reason="") in result.output
    assert "kyc-contracts mock" not in result.output
    assert started == {}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "mock.internal"])
def test_cli_serve_beyond_loopback_needs_a_control_token(
    started: dict[str, Any], host: str
) -> None:
    result = _serve("--host", host)
    assert result.exit_code == 2
    assert cli.TOKEN_REQUIRED.format(host=host).split(":")[0] in result.output
    assert started == {}


def test_cli_serve_beyond_loopback_with_a_control_token_starts(started: dict[str, Any]) -> None:
    result = _serve("--host", "0.0.0.0", "--control-token", "s3cret")
    assert result.exit_code == 0, result.output
    with TestClient(started["app"]) as client:
        assert client.post("/__mock/reset").status_code == 401
        reset = client.post("/__mock/reset", headers=bearer("s3cret"))
        assert reset.status_code == 204


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert cli.is_loopback(host)


def test_cli_serve_webhook_urls_subscribe_every_sandbox(started: dict[str, Any]) -> None:
    hooks = ("http://127.0.0.1:9/a", "https://hooks.example/b")
    result = _serve("--webhook-url", hooks[0], "--webhook-url", hooks[1])
    assert result.exit_code == 0, result.output
    with TestClient(started["app"]) as client:
        shown = client.get("/__mock/webhooks/anyone").json()["subscriptions"]
    assert [s["url"] for s in shown] == list(hooks)


def test_cli_serve_webhook_retries_are_configurable(started: dict[str, Any]) -> None:
    result = _serve("--webhook-retry-base", "0.05", "--webhook-attempts", "3")
    assert result.exit_code == 0, result.output
    policy = started["app"].server.outbox.policy
    assert (policy.base_delay_s, policy.max_attempts) == (0.05, 3)


def test_cli_serve_a_webhook_url_must_be_http(started: dict[str, Any]) -> None:
    result = _serve("--webhook-url", "localhost:9000")
    assert result.exit_code == 2
    assert NOT_A_WEBHOOK_URL.format(url="localhost:9000", reason=NOT_HTTP) in result.output
    assert started == {}


@pytest.mark.parametrize(
    ("target", "reason"),
    [("http://127.0.0.1:99999/hooks", BAD_PORT), ("http://127.0.0.1:9000/a\tb", WHITESPACE)],
)
def test_cli_serve_a_webhook_url_the_worker_cannot_send_to_is_refused(
    started: dict[str, Any], target: str, reason: str
) -> None:
    result = _serve("--webhook-url", target)
    assert result.exit_code == 2
    assert NOT_A_WEBHOOK_URL.format(url=target, reason=reason) in result.output
    assert started == {}


@pytest.mark.parametrize(
    ("args", "server"),
    [((), "granian"), (("--server", "uvicorn"), "uvicorn"), (("--server", "granian"), "granian")],
)
def test_cli_serve_picks_the_http_server(
    started: dict[str, Any], args: tuple[str, ...], server: str
) -> None:
    result = _serve(*args)
    assert result.exit_code == 0, result.output
    assert started["server"] == server
    assert "kyc-contracts mock" in result.output


def test_cli_serve_an_unknown_http_server_is_a_usage_error(started: dict[str, Any]) -> None:
    result = _serve("--server", "gunicorn")
    assert result.exit_code == 2
    assert "gunicorn" in result.output
    assert started == {}
