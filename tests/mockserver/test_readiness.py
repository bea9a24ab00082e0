"""Starting the mock as CI does: `serve --detach`, `GET /__mock/health`, `mockserver wait`, and
the README's CI snippet run as written."""

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import cli
from mockserver.app import create_app
from mockserver.readiness import NOT_READY, health_url
from mockserver.testing import free_port

MOCK = (sys.executable, "-m", "mockserver")
README = Path(__file__).resolve().parents[2] / "README.md"
BANNER_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/finx ")
START_TIMEOUT_S = 120


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, command: tuple[str, ...] = MOCK
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        check=False,
    )


def _stop(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


@contextmanager
def _detached(tmp_path: Path, *args: str) -> Iterator[tuple[int, str, str]]:
    """A mock started with `serve --detach`: (its PID, its root URL, its log so far)."""
    log = tmp_path / "mock.log"
    result = _run("serve", "--port", "0", "--detach", "--log-file", str(log), *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.strip())
    try:
        text = log.read_text()
        found = BANNER_URL.search(text)
        assert found is not None, text
        # the terminal that started it sees the banner too, and the PID, as stdout is captured
        assert found.group(0) in result.stderr
        assert cli.DETACHED_LOG.format(pid=pid, log=log) in result.stderr
        yield pid, f"http://127.0.0.1:{found.group(1)}", text
    finally:
        _stop(pid)


def test_detach_returns_once_ready_with_the_pid_and_the_real_port(tmp_path: Path) -> None:
    with _detached(tmp_path) as (pid, url, log):
        port = url.rsplit(":", 1)[1]
        assert int(port) > 0
        assert "mockserver" in Path(f"/proc/{pid}/cmdline").read_text()
        assert "ready in" in log
        health = httpx.get(health_url(url))
        assert health.status_code == 200
        assert health.json() == {"status": "ready", "apis": ["finhub", "finx", "kontorion"]}
        assert _run("wait", url, "--timeout", "10", cwd=tmp_path).returncode == 0
        listed = httpx.get(f"{url}/finx/v1/kyc", headers={"Authorization": "Bearer test_ci"})
        assert listed.status_code == 200
        busy = _run("serve", "--port", port, "--detach", cwd=tmp_path)
        assert busy.returncode == cli.EXIT_CANNOT_BIND
        assert busy.stdout == ""
        assert cli.CANNOT_BIND.format(host="127.0.0.1", port=port, reason="") in busy.stderr
    not_ready = _run("wait", url, "--timeout", "0.5", cwd=tmp_path)
    assert not_ready.returncode == 1
    assert NOT_READY.split(" ", 1)[1].split("{")[0] in not_ready.stderr


def test_detach_reports_a_server_that_exits_before_it_is_ready(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("{}")
    result = _run("serve", "--port", "0", "--detach", "--fixtures", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert '"records" list' in result.stderr
    assert cli.EXITED_EARLY.format(code=1) in result.stderr


def test_health_is_ready_only_while_the_app_runs() -> None:
    app = create_app()
    client = TestClient(app)
    assert client.get("/__mock/health").status_code == 503
    with TestClient(app) as running:
        health = running.get("/__mock/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ready"
    assert client.get("/__mock/health").json()["status"] == "starting"


def _ci_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### In CI") :]
    return section[section.index("```sh\n") + len("```sh\n") : section.index("```\n", 10)]


def test_readme_ci_snippet_runs_under_bash_e(tmp_path: Path) -> None:
    """The snippet as written, with the lines that need a frontend or a staging server out."""
    lines = _ci_snippet().splitlines()
    script: list[str] = []
    skipping = False
    for line in lines:
        outside = line.startswith("npm ") or "$STAGING_URL" in line
        if outside or skipping:
            skipping = line.rstrip().endswith("\\")
            script.append(": " + line.split("#")[0].rstrip(" \\"))
            continue
        script.append(line)
    assert len(script) == len(lines) and any(s.startswith(": npm") for s in script)
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PORT": str(free_port()),
        "PATH": bin_dir + os.pathsep + os.environ["PATH"],
    }
    result = _run("-e", "-c", "\n".join(script), cwd=tmp_path, env=env, command=("bash",))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kyc-contracts mock" in (tmp_path / "mock.log").read_text()


def test_wait_needs_a_url() -> None:
    assert _run("wait", cwd=Path.cwd()).returncode == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/__mock/health"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/__mock/health"),
        ("http://h:1/__mock/health", "http://h:1/__mock/health"),
    ],
)
def test_health_url(url: str, expected: str) -> None:
    assert health_url(url) == expected
