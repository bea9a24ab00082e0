"""Schemathesis over every spec, against the mock running with response validation on.

For each API, the `st` CLI runs every phase (examples, coverage, fuzzing, stateful) with every
check: with a user token over the operations a user may call, and, where the API has admin-only
operations, again with an admin token over all of them (admin-only operations need records that
the other operations create). A run passes
only with zero failures and zero errors. The CLI runs as a subprocess, so this exercises the mock
the way any outside client does and depends on none of our Python besides starting the server.

What `schemathesis_hooks.py` adds, and why (details there): a sandbox reset before every stateful
scenario, and a truly absent `User-Agent` for the missing-header cases.

`pytest -s` shows the number of test cases of each run; a failing run shows them too, with the
tail of schemathesis' own report.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kycspec.loader import load_all
from kycspec.model import ApiSpec
from mockserver.app import create_app
from mockserver.testing import serve_in_thread

ST = Path(sys.executable).with_name("st")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
SPECS = load_all()

# Bounded so the whole file takes about 70 s on two cores; the fixed seed keeps runs repeatable.
MAX_EXAMPLES = 40
SEED = 20240115
RUN_TIMEOUT_S = 240
PARTITION_VALUE = "st"  # the tenant (FinHub's X-Tenant-ID) every request of a run uses


@dataclass(frozen=True)
class RunResult:
    """One `st run`: its exit code, the parsed JSON report and the console output."""

    exit_code: int
    report: dict
    output: str
    resets: int

    @property
    def cases(self) -> int:
        return int(self.report["test_cases"]["generated"])

    def summary(self) -> str:
        counts = self.report["test_cases"]
        return (
            f"{counts['generated']} cases, {counts['with_failures']} with failures, "
            f"{len(self.report['errors'])} errors, {self.resets} stateful resets"
        )


@pytest.fixture(scope="session")
def mock_url() -> Iterator[str]:
    """Every API under /<name>, responses validated against the specs (a bad one is a 500)."""
    with serve_in_thread(create_app(validate_responses=True)) as url:
        yield url


def admin_operations(spec: ApiSpec) -> list[str]:
    return sorted(op.operation_id for op in spec.operations.values() if op.admin)


def partition_headers(spec: ApiSpec) -> list[str]:
    """Headers that partition records (tenants), pinned so a stateful scenario stays in one."""
    return sorted(
        {
            path.split(".", 1)[1]
            for resource in spec.resources.values()
            for path in resource.partition
            if path.startswith("header.")
        }
    )


def run_schemathesis(
    base_url: str, spec: ApiSpec, token: str, work: Path, *, exclude: list[str]
) -> RunResult:
    """`st run` over one API with every phase and check; `exclude` names operations to skip."""
    work.mkdir(parents=True, exist_ok=True)
    sandbox = token.split("_", 1)[1]
    report = work / "report.json"
    resets = work / "resets.log"
    config = work / "schemathesis.toml"
    config.write_text("# empty: only the command line configures this run\n")
    command = [
        str(ST),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{base_url}/{spec.name}{spec.base_path}/openapi.json",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One worker: stateful scenarios share the sandbox that the hooks reset between them.
        "--workers",
        "1",
        "--generation-database",
        "none",
        # Hypothesis' too_slow health check is about generation speed on a busy machine, not
        # about the API; every other health check stays on.
        "--suppress-health-check",
        "too_slow",
        "--request-timeout",
        "10",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "-H",
        f"Authorization: Bearer {token}",
    ]
    for header in partition_headers(spec):
        command += ["-H", f"{header}: {PARTITION_VALUE}"]
    for operation_id in exclude:
        command += ["--exclude-operation-id", operation_id]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "KYC_ST_RESET_URL": f"{base_url}/__mock/sandboxes/{sandbox}/reset",
        "KYC_ST_RESET_LOG": str(resets),
    }
    completed = subprocess.run(
        command,
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert report.exists(), f"schemathesis wrote no report (exit {completed.returncode}):\n{output}"
    return RunResult(
        exit_code=completed.returncode,
        report=json.loads(report.read_text()),
        output=output,
        resets=len(resets.read_text().splitlines()) if resets.exists() else 0,
    )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_schemathesis_finds_nothing(mock_url: str, name: str, tmp_path: Path) -> None:
    spec = SPECS[name]
    admin_only = admin_operations(spec)
    runs = {
        "user": run_schemathesis(
            mock_url, spec, f"test_{name}", tmp_path / "user", exclude=admin_only
        )
    }
    if admin_only:  # without admin operations the admin run would repeat the user run
        runs["admin"] = run_schemathesis(
            mock_url, spec, f"admin_{name}", tmp_path / "admin", exclude=[]
        )
    lines = [f"{name} {role}: {run.summary()}" for role, run in runs.items()]
    total = sum(run.cases for run in runs.values())
    lines.append(f"{name}: {total} schemathesis test cases")
    print("\n" + "\n".join(lines))
    for role, run in runs.items():
        where = f"{name} ({role} token): {run.summary()}\n{run.output[-6000:]}"
        assert run.report["complete"], where
        assert run.report["failures"] == [], where
        assert run.report["errors"] == [], where
        assert run.exit_code == 0, where
        assert run.cases > 0, where
        assert run.resets > 0, f"no sandbox reset between stateful scenarios\n{where}"
