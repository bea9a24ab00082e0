"""`mockserver serve` with a typo in an `x-` extension: the document is reported with its file,
JSON pointer and the keys allowed there, the others are served, and `--strict` exits 2."""

import shutil
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from conformance import cli as conformance_cli
from kycspec import vocabulary
from kycspec.loader import SPECS_DIR, read_document
from mockserver import cli


def test_serve_reports_a_typo_in_an_extension_and_serves_the_others(
    tmp_path: Path, started: dict[str, Any]
) -> None:
    shutil.copy(SPECS_DIR / "kontorion.yaml", tmp_path)
    document = read_document(SPECS_DIR / "finx.yaml")
    lifecycle = document["x-resources"]["kyc_record"]["lifecycle"]
    lifecycle["intial"] = lifecycle.pop("initial")
    (tmp_path / "finx.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    allowed = ", ".join(vocabulary.schema()["$defs"]["lifecycle"]["properties"])
    problem = vocabulary.UNKNOWN_CLOSE.format(key="intial", match="initial", allowed=allowed)
    where = f"{tmp_path / 'finx.yaml'}#/x-resources/kyc_record/lifecycle: {problem}"
    serve = ["serve", "--port", "0", "--specs-dir", str(tmp_path)]

    result = CliRunner().invoke(cli.main, serve)
    assert result.exit_code == 0, result.output
    assert list(started["app"].server.specs) == ["kontorion"]
    assert [p.pointer for p in started["app"].problems] == ["/x-resources/kyc_record/lifecycle"]
    assert where in " ".join(result.output.split())

    strict = CliRunner().invoke(cli.main, [*serve, "--strict"])
    assert strict.exit_code == cli.EXIT_CANNOT_START
    assert where in " ".join(strict.output.split())
    assert "Traceback" not in strict.output


LEVELCHECK = Path(__file__).parents[1] / "data" / "levelcheck" / "levelcheck.yaml"


def test_a_document_that_cannot_compile_is_skipped_and_the_others_served(
    tmp_path: Path, started: dict[str, Any]
) -> None:
    text = LEVELCHECK.read_text(encoding="utf-8")
    (tmp_path / "good.yaml").write_text(text, encoding="utf-8")
    bad = tmp_path / "badenv.yaml"
    bad.write_text(text.replace("{description: $detail,", "{description: $details,"), "utf-8")
    where = f"{bad}#/x-errors/body/description: unknown expression '$details'"
    serve = ["serve", "--port", "0", "--specs-dir", str(tmp_path)]

    result = CliRunner().invoke(cli.main, serve)
    assert result.exit_code == 0, result.output
    assert list(started["app"].server.specs) == ["good"]
    assert [p.pointer for p in started["app"].problems] == ["/x-errors/body/description"]
    assert where in "".join(result.output.split("\n"))

    strict = CliRunner().invoke(cli.main, [*serve, "--strict"])
    assert strict.exit_code == cli.EXIT_CANNOT_START
    assert where in "".join(strict.output.split("\n"))
    assert "Traceback" not in strict.output

    run = ["run", "--api", "badenv", "--base-url", "http://127.0.0.1:9", "--token", "t"]
    checked = CliRunner().invoke(conformance_cli.main, [*run, "--specs-dir", str(tmp_path)])
    assert checked.exit_code == conformance_cli.EXIT_CANNOT_RUN
    assert where in "".join(checked.output.split("\n"))
