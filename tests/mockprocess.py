"""`mockserver serve` as a real process on a free 127.0.0.1 port, always stopped.

For what an in-process server cannot show: a restart, `kill -9`, several processes on one store.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from mockserver.testing import free_port

STARTUP_TIMEOUT_S = 120.0
DID_NOT_START = "mockserver serve did not answer within {timeout} s; its output:\n{output}"


@dataclass
class MockProcess:
    """A running `mockserver serve`: its base URL and process (a group of its own)."""

    url: str
    process: subprocess.Popen[bytes]
    output: Path

    def kill(self) -> None:
        """SIGKILL the process group: no shutdown code runs (a crash, `kill -9`)."""
        _signal_group(self.process, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it (a graceful shutdown)."""
        _signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


@contextmanager
def mock_process(
    directory: Path, *args: str, timeout: float = STARTUP_TIMEOUT_S
) -> Iterator[MockProcess]:
    """`mockserver serve --port <free> *args`, ready (answers its control plane) when yielded."""
    port = free_port()
    output = directory / f"mockserver-{port}-{time.monotonic_ns()}.log"
    program = Path(sys.executable).with_name("mockserver")
    command = [str(program), "serve", "--port", str(port), *args]
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = MockProcess(f"http://127.0.0.1:{port}", process, output)
    try:
        _wait_until_ready(running, timeout)
        yield running
    finally:
        if process.poll() is None:
            running.stop()


def _wait_until_ready(running: MockProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{running.url}/__mock/", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if running.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                DID_NOT_START.format(timeout=timeout, output=running.output.read_text())
            )
        time.sleep(0.1)
