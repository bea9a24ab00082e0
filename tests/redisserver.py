"""A real `redis-server` for tests: a free 127.0.0.1 port, a temporary directory, always stopped.

Skips (fails in CI, see `tests.realcomponents`) where redis-server is not installed.
"""

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from mockserver.testing import free_port
from tests.realcomponents import require_binary

STARTUP_TIMEOUT_S = 10.0
DID_NOT_START = "redis-server did not answer PING within {timeout} s: {output}"


@contextmanager
def running_redis(directory: Path) -> Iterator[str]:
    """A redis-server with no persistence, in `directory`; yields its URL (database 0)."""
    program = require_binary("redis-server", "redis-server")
    port = free_port()
    log = directory / "redis.log"
    process = subprocess.Popen(
        [
            program,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(log),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = log.read_text() if log.exists() else ""
                    raise RuntimeError(
                        DID_NOT_START.format(timeout=STARTUP_TIMEOUT_S, output=output)
                    ) from None
                time.sleep(0.02)
        client.close()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def flush(url: str) -> None:
    """Empty the database (each test starts from nothing)."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
