"""The Schemathesis CLI as a vendor runs it: README.md's `st run` command for each spec.

The commands are read from README.md ("Schemathesis against the mock"), so the documented
command is the tested one: every spec must have one, and each must report no failure (exit
code 0) against the mock as `make run` starts it, with the README's port swapped for a free
one and the spec path taken from the repository root. The commands run as documented (default
checks, phases and example counts) in the slow test; `make test` runs each with a small,
seeded example count (`SAMPLE_ARGS`), the only change.
"""

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kycspec.loader import load_all
from mockserver.app import create_app
from mockserver.testing import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ST = Path(sys.executable).with_name("st")
DOCUMENTED_URL = "http://127.0.0.1:8080"
SPEC_PATH = re.compile(r"^specs/(?P<name>[^/]+)\.yaml$")
SAMPLE_ARGS = ["--max-examples", "5", "--seed", "20240115"]
SAMPLE_TIMEOUT_S = 300
FULL_TIMEOUT_S = 1800
SPECS = load_all()


def documented_commands() -> dict[str, list[str]]:
    """README.md's `st run` commands, by the spec each one runs."""
    commands: dict[str, list[str]] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("st run "):
            argv = shlex.split(line)
            name = next(m["name"] for a in argv if (m := SPEC_PATH.match(a)))
            commands[name] = argv
    return commands


COMMANDS = documented_commands()


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with serve_in_thread(create_app()) as url:
        yield url


def run_documented(name: str, mock_url: str, extra: list[str], timeout: int, work: Path) -> None:
    argv = [
        str(ST) if i == 0 else str(ROOT / arg) if SPEC_PATH.match(arg) else arg
        for i, arg in enumerate(COMMANDS[name])
    ]
    argv = [arg.replace(DOCUMENTED_URL, mock_url) for arg in argv] + extra
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    # An empty working directory: no schemathesis.toml or hooks of ours are picked up.
    completed = subprocess.run(
        argv, cwd=work, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = completed.stdout + completed.stderr
    cases = re.search(r"\d+ generated, \d+ passed[^\n]*", output)
    print(f"\n{name}: {' '.join(argv[1:])}\n{cases[0] if cases else output[-300:]}")
    assert completed.returncode == 0, output[-8000:]
    assert cases, output[-3000:]


def test_readme_documents_a_command_for_every_spec() -> None:
    assert sorted(COMMANDS) == sorted(SPECS)
    for name, argv in COMMANDS.items():
        assert argv[:2] == ["st", "run"]
        url = argv[argv.index("--url") + 1]
        assert url == f"{DOCUMENTED_URL}/{name}{SPECS[name].base_path}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_documented_command_sample(mock_url: str, name: str, tmp_path: Path) -> None:
    run_documented(name, mock_url, SAMPLE_ARGS, SAMPLE_TIMEOUT_S, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_documented_command(mock_url: str, name: str, tmp_path: Path) -> None:
    run_documented(name, mock_url, [], FULL_TIMEOUT_S, tmp_path)
