"""The CLI's external contract: exit codes 0/1/2 and well-formed report files."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from conformance.cli import EXIT_CANNOT_RUN, EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, main
from tests.conformance.conftest import BASE_PATHS, Served


def _run(served: Served, api: str, *extra: str) -> tuple[int, str]:
    args = [
        "run",
        "--api",
        api,
        "--base-url",
        served.url + BASE_PATHS[api],
        "--token",
        "test_conf",
        "--token-b",
        "test_other",
        "--admin-token",
        "admin_conf",
        "--profile",
        "security",
        "--seed",
        "5",
        *extra,
    ]
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def test_cli_conformant_server_exits_0(mock: Served) -> None:
    code, output = _run(mock, "kontorion")
    assert code == EXIT_CONFORMANT, output
    assert "--seed 5" in output


def test_cli_broken_server_exits_1_and_writes_reports(broken: Served, tmp_path: Path) -> None:
    broken.app.mode = "no_auth"
    files = {name: tmp_path / f"report.{name}" for name in ("xml", "json", "html")}
    code, output = _run(
        broken,
        "finx",
        "--junit",
        str(files["xml"]),
        "--json",
        str(files["json"]),
        "--html",
        str(files["html"]),
    )
    assert code == EXIT_NOT_CONFORMANT, output
    assert "curl -X" in output and "conformance run --api finx" in output
    assert "<token>" in output and "test_conf'" not in output.split("Replay")[-1]
    suite = ET.parse(files["xml"]).getroot().find("testsuite")
    assert suite is not None
    failed = [c.get("name", "") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert any(name.startswith("FINX-SEC-001") for name in failed)
    report = json.loads(files["json"].read_text())
    assert report["run"]["conformant"] is False and report["run"]["seed"] == 5
    assert {r["id"] for r in report["results"]} == {r["id"] for r in report["catalogue"]}
    html = files["html"].read_text()
    assert "FINX-SEC-001" in html and "FINX-SEC-002" in html and "<script" not in html


def test_cli_unreachable_server_exits_2() -> None:
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--api",
            "finx",
            "--base-url",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--timeout",
            "2",
        ],
    )
    assert result.exit_code == EXIT_CANNOT_RUN, result.output
    assert "cannot reach" in result.output


def test_cli_unknown_api_exits_2() -> None:
    result = CliRunner().invoke(
        main, ["run", "--api", "nope", "--base-url", "http://127.0.0.1:9", "--token", "t"]
    )
    assert result.exit_code == EXIT_CANNOT_RUN
    assert "unknown API 'nope'" in result.output


def test_cli_requirements_lists_one_line_each() -> None:
    result = CliRunner().invoke(main, ["requirements", "--api", "finx"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines and all(line.startswith("FINX-") for line in lines)
