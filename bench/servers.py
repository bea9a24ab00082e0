"""Which ASGI server the mock runs on: uvicorn (httptools, uvloop) against Granian, by the numbers.

`python -m bench.servers` starts the same app (the mock's worker factory, or the ceiling's
Starlette app) on every server configuration at once, each on a free 127.0.0.1 port, and
measures get by id, list filtered and create (JSON) with wrk in interleaved rounds. Per run it
reports throughput, p50 and p99, the server's CPU time per request (user + system of every
process in its process group, from /proc, so Granian's Rust threads and worker process count)
and wrk's own CPU per request (the load generator shares the 2 cores with the server).
"""

import argparse
import os
import resource
import statistics
import sys
import time
from dataclasses import astuple, dataclass
from pathlib import Path

from bench.scale import seed_throughput
from bench.targets import ROOT, TOKEN, VENV_BIN, Target, ensure_wrk, free_port, running
from bench.wrk import ENDPOINTS, run_wrk
from mockserver.workers import CONFIG_ENV, WORKER_FACTORY, WorkerConfig

MEASURED = [e for e in ENDPOINTS if e.name in ("get by id", "list filtered", "create json")]
GRANIAN = ["--interface", "asgi", "--loop", "uvloop", "--log-level", "warning", "--no-ws"]
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]

# name: (server, extra options). "serve-*" rows are `mockserver serve --api finx --server ...`
# (the mock only); the others run the app with the server's own command line, "granian" rows
# with GRANIAN first, "uvicorn" with UVICORN.
CONFIGS: dict[str, tuple[str, list[str]]] = {
    "serve-uvicorn": ("serve", ["--server", "uvicorn"]),
    "serve-granian": ("serve", ["--server", "granian"]),
    "uvicorn": ("uvicorn", ["--no-access-log"]),
    "granian": ("granian", []),
    "granian-http1": ("granian", ["--http", "1"]),
    "granian-rt2": ("granian", ["--runtime-threads", "2"]),
    "granian-st": ("granian", ["--runtime-mode", "st"]),
    "granian-bp32": ("granian", ["--backpressure", "32"]),
    "granian-bt1": ("granian", ["--blocking-threads", "1"]),
}


def clock_ticks(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in process group `pgid`."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    server_us: float  # server CPU per request
    wrk_us: float  # wrk CPU per request
    errors: int

    @staticmethod
    def median(samples: "list[Sample]") -> "Sample":
        """Each figure's median over the rounds."""
        return Sample(
            *(statistics.median(column) for column in zip(*map(astuple, samples), strict=True))
        )


def target(name: str, app: str) -> Target:
    """One server configuration serving `app` ("mock" or "ceiling")."""
    server, extra = CONFIGS[name]
    port = free_port()
    entry = WORKER_FACTORY if app == "mock" else "bench.ceiling:app"
    factory = ["--factory"] if app == "mock" else []
    if server == "serve":
        command = [str(VENV_BIN / "mockserver"), "serve", "--api", "finx", *extra]
        command += ["--port", str(port)]
    elif server == "uvicorn":
        command = [str(VENV_BIN / "uvicorn"), entry, *factory, *UVICORN, *extra]
        command += ["--host", "127.0.0.1", "--port", str(port)]
    else:
        command = [str(VENV_BIN / "granian"), entry, *factory, *GRANIAN, *extra]
        command += ["--host", "127.0.0.1", "--port", str(port)]
    return Target(
        f"{app}-{name}", command, {"Authorization": f"Bearer {TOKEN}"}, port, ready_path="/__mock/"
    )


def mock_config() -> str:
    """The settings `mockserver serve --api finx` builds the app from (as `make bench` runs it)."""
    return WorkerConfig(
        specs_dir=str(ROOT / "specs"),
        api="finx",
        fixtures=None,
        user_prefix="test_",
        admin_prefix="admin_",
        validate_responses=False,
        max_body_bytes=1_048_576,
        public_url="http://127.0.0.1",
        store_url="memory://",
    ).to_env()


def measure(wrk: str, server: Target, endpoint_index: int, seconds: float) -> Sample:
    endpoint = MEASURED[endpoint_index]
    assert server.process is not None
    cpu, own = clock_ticks(server.process.pid), children_cpu()
    run = run_wrk(wrk, server.url, endpoint, server.headers, seconds=seconds)
    cpu, own = clock_ticks(server.process.pid) - cpu, children_cpu() - own
    errors = run.non2xx + run.socket_errors
    per = 1e6 / max(1, run.requests)
    return Sample(run.rps, run.p50_ms, run.p99_ms, cpu * per, own * per, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--apps", default="mock,ceiling")
    args = parser.parse_args()
    wrk = ensure_wrk()
    if wrk is None:
        sys.exit("wrk is needed")
    os.environ[CONFIG_ENV] = mock_config()
    names = args.configs.split(",")
    for app in args.apps.split(","):
        servers = [
            target(name, app) for name in names if app == "mock" or not name.startswith("serve")
        ]
        with running(servers):
            for server in servers:
                seed_throughput(server)
                for index in range(len(MEASURED)):
                    measure(wrk, server, index, 1)  # warm-up
            samples: dict[tuple[str, str], list[Sample]] = {}
            for round_number in range(args.repeats):
                load = os.getloadavg()[0]
                for index, endpoint in enumerate(MEASURED):
                    for server in servers:
                        sample = measure(wrk, server, index, args.seconds)
                        samples.setdefault((server.name, endpoint.name), []).append(sample)
                        print(
                            f"round {round_number + 1} load {load:4.1f} {server.name:<20} "
                            f"{endpoint.name:<14} {sample.rps:7.0f} req/s p50 {sample.p50_ms:6.2f}"
                            f" p99 {sample.p99_ms:6.2f} ms cpu {sample.server_us:5.0f} us "
                            f"wrk {sample.wrk_us:4.0f} us err {sample.errors}",
                            flush=True,
                        )
                        time.sleep(0.2)
        print(f"\n{app}: medians of {args.repeats} interleaved rounds of {args.seconds:.0f} s")
        print("| server | endpoint | req/s | p50 ms | p99 ms | server CPU us/req | wrk us/req |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for endpoint in MEASURED:
            for server in servers:
                m = Sample.median(samples[(server.name, endpoint.name)])
                print(
                    f"| {server.name} | {endpoint.name} | {m.rps:,.0f} | {m.p50_ms:.2f} | "
                    f"{m.p99_ms:.2f} | {m.server_us:.0f} | {m.wrk_us:.0f} |"
                )
        print(flush=True)


if __name__ == "__main__":
    main()
