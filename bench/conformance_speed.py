"""Wall time of `conformance run` (default profile) per API against the mock.

The conformance CLI is not written yet; until `conformance --help` works this reports a skip.
"""

import subprocess
import time
from typing import Any

from bench.targets import VENV_BIN, Target
from kycspec.loader import load_all

TIMEOUT = 600


def available() -> bool:
    try:
        done = subprocess.run(
            [str(VENV_BIN / "conformance"), "--help"], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def run(target: Target) -> dict[str, Any]:
    """Time one run per API; `target` serves every API, each under /<name>."""
    if not available():
        return {"skipped": "`conformance --help` fails: the conformance CLI is not runnable yet"}
    results: dict[str, Any] = {}
    for name, spec in load_all().items():
        command = [
            str(VENV_BIN / "conformance"),
            "run",
            "--api",
            name,
            "--base-url",
            f"{target.url}/{name}{spec.base_path}",
            "--token",
            "test_bench",
            "--token-b",
            "test_bench2",
            "--admin-token",
            "admin_bench",
        ]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
            code: int | None = done.returncode
        except subprocess.TimeoutExpired:
            code = None
        results[name] = {"seconds": time.perf_counter() - started, "exit_code": code}
        print(f"  conformance {name}: {results[name]['seconds']:.1f}s exit {code}", flush=True)
    return {"apis": results}
