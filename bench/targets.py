"""The servers under test, started as process groups so that every child is stopped with them.

Each target binds 127.0.0.1 on a free port. Tools the benchmark needs (Prism from npm, wrk from
Debian) are installed here on first use, so `make bench` works on a fresh machine.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TOOLS = BENCH / ".tools"
RAW = BENCH / "results" / "raw"
VENV_BIN = Path(sys.executable).parent
SPEC = ROOT / "specs" / "finx.yaml"

# 5.14.2 is the newest Prism that runs on Node 18/20; 5.15 and later need Node >= 24.
PRISM_VERSION = "5.14.2"
PRISM_BIN = TOOLS / "node_modules" / ".bin" / "prism"

TOKEN = "test_bench"
SANDBOX = "bench"


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_prism() -> str | None:
    """Install the pinned Prism into bench/.tools; returns why not when it cannot."""
    if PRISM_BIN.exists():
        found = subprocess.run(
            [str(PRISM_BIN), "--version"], capture_output=True, text=True, check=False
        )
        if found.stdout.strip() == PRISM_VERSION:
            return None
    if shutil.which("npm") is None:
        _apt_install("nodejs", "npm")
    if shutil.which("npm") is None:
        return "npm is not available and could not be installed"
    TOOLS.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(TOOLS),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"@stoplight/prism-cli@{PRISM_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not PRISM_BIN.exists():
        return f"npm install of Prism {PRISM_VERSION} failed: {done.stderr.strip()[-300:]}"
    return None


def ensure_wrk() -> str | None:
    """The wrk binary, from Debian when missing; None means use the Python load generator."""
    if shutil.which("wrk") is None:
        _apt_install("wrk")
    return shutil.which("wrk")


def _apt_install(*packages: str) -> None:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300, check=False
    )
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )


@dataclass
class Target:
    """One server: how to start it and how to talk to it."""

    name: str
    command: Sequence[str]
    headers: dict[str, str] = field(default_factory=dict)
    port: int = 0
    note: str = ""
    process: subprocess.Popen[bytes] | None = None
    ready_path: str | None = "/__mock/"  # None: ready once the port accepts connections

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def mock_target(
    port: int,
    name: str = "mock",
    store: str = "memory://",
    workers: int = 1,
    *,
    slow_path: bool = False,
    server: str | None = None,
) -> Target:
    """Our mock, as users run it: one API at the root, request validation on, responses not;
    with `slow_path`, through connexion's reference chain instead of the compiled operations;
    on `server` ("granian" or "uvicorn"; None: the default of `serve`)."""
    command = [
        str(VENV_BIN / "mockserver"),
        "serve",
        "--api",
        "finx",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        store,
        "--workers",
        str(workers),
        *(["--slow-path"] if slow_path else []),
        *(["--server", server] if server else []),
    ]
    return Target(name, command, {"Authorization": f"Bearer {TOKEN}"}, port)


def redis_target(port: int, directory: Path) -> Target:
    """A redis-server for the shared-store rows: no persistence, its files in `directory`."""
    program = shutil.which("redis-server") or "redis-server"
    command = [program, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    command += ["--save", "", "--appendonly", "no"]
    return Target("redis", command, port=port, ready_path=None)


def ensure_redis() -> str | None:
    """redis-server, from Debian when missing; returns why not when it cannot be had."""
    if shutil.which("redis-server") is None:
        _apt_install("redis-server")
    return None if shutil.which("redis-server") else "redis-server could not be installed"


def prism_target(port: int) -> Target:
    """Prism's static mock of the same spec; `-v warn` so it logs no more than our mock does."""
    command = [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "warn", str(SPEC)]
    return Target("prism", command, {"Authorization": f"Bearer {TOKEN}"}, port)


def ceiling_target(port: int) -> Target:
    """Bare Starlette doing the same in-memory work without validation: the upper bound."""
    command = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
    return Target("ceiling", command, {"Authorization": f"Bearer {TOKEN}"}, port)


def start(target: Target, timeout: float = 60.0) -> None:
    """Start the target in its own process group and wait until it answers HTTP (or, without
    a `ready_path`, accepts connections)."""
    RAW.mkdir(parents=True, exist_ok=True)
    log = (RAW / f"{target.name}.log").open("wb")
    target.process = subprocess.Popen(
        list(target.command),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise RuntimeError(f"{target.name} exited early; see {RAW / (target.name + '.log')}")
        try:
            if target.ready_path is None:
                socket.create_connection(("127.0.0.1", target.port), timeout=1).close()
                return
            urllib.request.urlopen(target.url + target.ready_path, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{target.name} did not answer within {timeout:.0f}s")


def stop(target: Target) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left."""
    process = target.process
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def running(targets: Sequence[Target]) -> Iterator[Sequence[Target]]:
    """Start every target; stop them all on the way out, whatever happened."""
    try:
        for target in targets:
            start(target)
        yield targets
    finally:
        for target in targets:
            stop(target)


def post_json(url: str, body: object, headers: dict[str, str] | None = None) -> object:
    """A JSON POST with the standard library (used for seeding)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read() or b"null")
