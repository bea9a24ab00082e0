"""The bench's own logic: `python -m bench.run --output` (a name or a path, refused before the
run when it cannot be written: a run takes minutes, and the results were lost at the end), and
`bench.profile`'s summary on either HTTP server."""

import sys
from pathlib import Path

import pytest

from bench import profile, report, run
from mockserver.httpserver import GRANIAN, UVICORN


def test_a_plain_name_goes_to_bench_results() -> None:
    assert report.output_paths("redis") == (
        report.RESULTS / "redis.json",
        report.RESULTS / "redis.md",
        report.RESULTS / "chart-redis.png",
    )
    assert report.output_paths("latest")[2] == report.RESULTS / "chart.png"


def test_a_path_goes_to_its_own_directory(tmp_path: Path) -> None:
    output = str(tmp_path / "runs" / "today")
    paths = report.output_paths(output)
    assert paths == (
        tmp_path / "runs" / "today.json",
        tmp_path / "runs" / "today.md",
        tmp_path / "runs" / "chart-today.png",
    )
    report.prepare(output)
    assert (tmp_path / "runs").is_dir()


def test_an_output_that_cannot_be_written_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    output = str(blocker / "today")  # a directory that cannot exist: a file is in the way
    monkeypatch.setattr(sys, "argv", ["bench.run", "--output", output])
    with pytest.raises(SystemExit) as exited:
        run._arguments()
    assert exited.value.code == 2
    reason = capsys.readouterr().err
    assert run.OUTPUT_NOT_WRITABLE.format(output=output, reason="").removesuffix("()") in reason


# Collapsed stacks as py-spy writes them: frames outermost first, then the sample count.
APP = "run (asyncio/events.py:80);__call__ (mockserver/app.py:70);find (mockserver/store.py:9)"
UVICORN_WRITE = (
    "run (asyncio/events.py:80);"
    "RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:500)"
)
GRANIAN_GLUE = "run (asyncio/events.py:80);_callback_wrapper (granian/asgi.py:40)"


def test_profile_counts_uvicorns_socket_write_apart(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(f"{APP} 3\n{UVICORN_WRITE} 1\n")
    summary = profile.summarise(raw, UVICORN)
    assert "4 samples, 25.0% in RequestResponseCycle.send (socket write)" in summary
    assert "100.0%  mock store" in summary


def test_profile_on_granian_has_no_socket_write_in_the_samples(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(f"{APP} 3\n{GRANIAN_GLUE} 1\n")
    summary = profile.summarise(raw, GRANIAN)
    assert "4 samples; the socket writes run on granian's own threads" in summary
    assert " 75.0%  mock store" in summary
    assert " 25.0%  granian (ASGI glue)" in summary
