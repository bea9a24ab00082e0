"""The CLI's external contract: exit codes 0/1/2 and well-formed report files."""

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis.configuration import storage_directory

from conformance.cli import (
    EXIT_CANNOT_RUN,
    EXIT_CONFORMANT,
    EXIT_NOT_CONFORMANT,
    NOT_A_URL,
    SPECS_BROKEN,
    default_hypothesis_dir,
    hypothesis_home,
    main,
)
from conformance.preflight import ADMIN_ROLE_UNPROBED, UNREACHABLE
from conformance.reporters.console import FIXABLE_TITLE, NOTE_LINE
from conformance.target import PLACEHOLDERS
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


@pytest.mark.parametrize("api", list(BASE_PATHS))
def test_cli_conformant_server_exits_0(mock: Served, api: str) -> None:
    code, output = _run(mock, api)
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


def test_cli_reports_never_show_the_tokens(broken: Served, tmp_path: Path) -> None:
    broken.app.mode = "no_auth"
    tokens = {
        "--token": "test_s3cr3tA",
        "--token-b": "test_s3cr3tB",
        "--admin-token": "admin_s3cr3t",
    }
    files = {option: tmp_path / f"report.{option}" for option in ("--junit", "--json", "--html")}
    args = ["run", "--api", "finx", "--base-url", broken.url + BASE_PATHS["finx"]]
    args += [word for pair in (*tokens.items(), *files.items()) for word in map(str, pair)]
    result = CliRunner().invoke(main, [*args, "--profile", "security", "--seed", "5"])
    assert result.exit_code == EXIT_NOT_CONFORMANT, result.output
    for written in (result.output, *(path.read_text() for path in files.values())):
        text = html.unescape(written.replace("\n", ""))  # the console wraps long curl lines
        assert f"Bearer {PLACEHOLDERS['token']}" in text
        assert not [token for token in tokens.values() if token in text]


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
    assert UNREACHABLE.split("{")[0] in result.output


def test_cli_unknown_api_exits_2() -> None:
    result = CliRunner().invoke(
        main, ["run", "--api", "nope", "--base-url", "http://127.0.0.1:9", "--token", "t"]
    )
    assert result.exit_code == EXIT_CANNOT_RUN
    assert "unknown API 'nope'" in result.output


def test_cli_broken_spec_directory_exits_2(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("openapi: [unclosed\n")
    args = ["--api", "broken", "--base-url", "http://127.0.0.1:9", "--token", "t"]
    result = CliRunner().invoke(main, ["run", *args, "--specs-dir", str(tmp_path)])
    assert result.exit_code == EXIT_CANNOT_RUN, result.output
    assert SPECS_BROKEN.split("{")[0] in result.output


def test_cli_malformed_base_url_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        main, ["run", "--api", "finx", "--base-url", "not-a-url", "--token", "t"]
    )
    assert result.exit_code == EXIT_CANNOT_RUN, result.output
    assert NOT_A_URL.format(value="not-a-url") in result.output
    assert UNREACHABLE.split("{")[0] not in result.output


def test_cli_requirements_lists_one_line_each() -> None:
    result = CliRunner().invoke(main, ["requirements", "--api", "finx"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines and all(line.startswith("FINX-") for line in lines)


def test_cli_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("conformance, version ")


def test_cli_hypothesis_files_stay_out_of_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_hypothesis_dir() == tmp_path / "cache" / "kyc-contracts" / "hypothesis"
    before = storage_directory("x", intent_to_write=False).path
    with hypothesis_home(tmp_path / "chosen"):
        assert storage_directory("x", intent_to_write=False).path == tmp_path / "chosen" / "x"
    assert storage_directory("x", intent_to_write=False).path == before


def test_cli_skipped_musts_are_listed_and_fail_with_require_all(mock: Served) -> None:
    code, output = _run(mock, "kontorion")
    assert code == EXIT_CONFORMANT, output
    assert FIXABLE_TITLE.split("{", maxsplit=1)[0] in output and "--profile full" in output
    code, output = _run(mock, "kontorion", "--require-all")
    assert code == EXIT_NOT_CONFORMANT, output
    assert "NOT CONFORMANT" in output


def test_cli_run_that_exercised_nothing_is_never_conformant(mock: Served) -> None:
    code, output = _run(mock, "kontorion", "--budget", "0.001")
    assert code == EXIT_CANNOT_RUN, output
    assert "CONFORMANT (" not in output.replace("NOT CONFORMANT", "")
    assert "no MUST requirement was exercised" in output


def test_cli_role_the_spec_cannot_probe_is_a_note(mock: Served) -> None:
    code, output = _run(mock, "finx")
    assert code == EXIT_CONFORMANT, output
    assert NOTE_LINE.format(note=ADMIN_ROLE_UNPROBED) in " ".join(output.split())
