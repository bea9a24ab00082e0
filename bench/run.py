"""`make bench`: the mock against Prism and the Starlette ceiling, in one run.

Order of work: install the tools, start the targets side by side, measure every endpoint
in interleaved rounds (so drift on a shared machine hits every target alike), then list latency
by sandbox size, memory per record, and the conformance run time. Every process started here is
stopped on the way out, error or not.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import conformance_speed, report, scale
from bench.targets import (
    PRISM_VERSION,
    ROOT,
    Target,
    ceiling_target,
    ensure_prism,
    ensure_redis,
    ensure_wrk,
    free_port,
    mock_target,
    prism_target,
    redis_target,
    running,
)
from bench.wrk import ENDPOINTS, Endpoint, Run, measure

# Throughput targets, in the order they are measured in each round.
TARGETS = {
    "mock": "`mockserver serve --api finx` (request validation on, response validation off; "
    "Granian, the default server)",
    "mock-uvicorn": "the same with `--server uvicorn` (uvloop, httptools)",
    "mock-slow": "the same with `--slow-path` (connexion's own middleware chain, the reference)",
    "mock-redis": "the same with `--store redis://127.0.0.1:<port>/1` (redis-server 7 on the "
    "same machine, no persistence)",
    "mock-redis-2w": "the same with `--store redis://127.0.0.1:<port>/2 --workers 2`",
    "prism": f"`prism mock -v warn specs/finx.yaml`, @stoplight/prism-cli {PRISM_VERSION}, "
    "static examples",
    "ceiling": "bench/ceiling.py, Starlette on the mock's server (Granian), dict store, no "
    "validation",
}
REDIS_WORKERS = {"mock-redis": 1, "mock-redis-2w": 2}  # worker processes of each Redis target
OUTPUT_NOT_WRITABLE = "--output {output}: cannot write results there ({reason})"


def smoke(target: Target, endpoint: Endpoint) -> int:
    """The status one request gets, to catch a target that answers every request with an error."""
    request = urllib.request.Request(
        target.url + endpoint.path,
        data=endpoint.body.encode() or None,
        method=endpoint.method,
        headers={
            **target.headers,
            **({"Content-Type": endpoint.content_type} if endpoint.body else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def throughput(
    targets: list[Target], wrk: str | None, args: argparse.Namespace, notes: list[str]
) -> dict[str, Any]:
    """Every endpoint on every target, `args.repeats` interleaved rounds."""
    for target in targets:
        if target.name.startswith("mock") or target.name == "ceiling":
            scale.seed_throughput(target)
        for endpoint in ENDPOINTS:
            code = smoke(target, endpoint)
            if not 200 <= code < 300:
                notes.append(f"{target.name} answers {endpoint.name} with {code}")
    runs: dict[str, dict[str, list[Run]]] = {
        t.name: {e.name: [] for e in ENDPOINTS} for t in targets
    }
    for round_number in range(args.repeats):
        for endpoint in ENDPOINTS:
            for target in targets:
                if round_number == 0 and args.warmup:
                    measure(wrk, target.url, endpoint, target.headers, seconds=args.warmup)
                result = measure(wrk, target.url, endpoint, target.headers, seconds=args.seconds)
                runs[target.name][endpoint.name].append(result)
                print(
                    f"  round {round_number + 1} {target.name:<8} {endpoint.name:<14} "
                    f"{result.rps:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                    f"p99 {result.p99_ms:7.2f} ms  non-2xx {result.non2xx}",
                    flush=True,
                )
    return {
        "endpoints": [e.name for e in ENDPOINTS],
        "requests": {
            e.name: {
                "method": e.method,
                "path": e.path,
                "body": e.body,
                "content_type": e.content_type,
            }
            for e in ENDPOINTS
        },
        "median": {
            t: {e: vars(Run.median(rs)) for e, rs in by_e.items()} for t, by_e in runs.items()
        },
        "runs": {
            t: {e: [vars(r) for r in rs] for e, rs in by_e.items()} for t, by_e in runs.items()
        },
    }


def memory(records: int) -> dict[str, Any]:
    """Memory per record, measured in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", str(records)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-500:]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5, help="length of one measured run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per target and endpoint")
    parser.add_argument(
        "--warmup", type=float, default=1, help="warm-up seconds before the first run"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="records for the memory figure"
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated throughput targets, of: {', '.join(TARGETS)}",
    )
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="measure throughput only (no list latency by size, memory or conformance time)",
    )
    parser.add_argument(
        "--output",
        default="latest",
        help="results: a name (bench/results/<name>.json, .md and chart-<name>.png) or a path "
        "(<dir>/<name>.json, .md and <dir>/chart-<name>.png)",
    )
    args = parser.parse_args()
    try:
        report.prepare(args.output)
    except OSError as exc:
        parser.error(OUTPUT_NOT_WRITABLE.format(output=args.output, reason=exc.strerror or exc))
    chosen = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    args.chosen = chosen
    return args


def main() -> None:
    args = _arguments()
    chosen: list[str] = args.chosen
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    notes: list[str] = []
    load_before = os.getloadavg()

    print("== tools", flush=True)
    wrk = ensure_wrk()
    if wrk is None:
        notes.append(
            "wrk could not be installed; the Python load generator was used (lower figures)"
        )
    prism_problem = ensure_prism() if "prism" in chosen else None
    if prism_problem:
        notes.append(f"Prism not measured: {prism_problem}")
        chosen.remove("prism")
    redis_problem = ensure_redis() if any(n in REDIS_WORKERS for n in chosen) else None
    if redis_problem:
        notes.append(f"Redis rows not measured: {redis_problem}")
        chosen = [name for name in chosen if name not in REDIS_WORKERS]

    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        redis = redis_target(free_port(), Path(directory))
        targets = [_target(name, redis) for name in chosen]
        servers = [redis, *targets] if any(n in REDIS_WORKERS for n in chosen) else targets
        print("== throughput: " + ", ".join(t.name for t in targets), flush=True)
        with running(servers):
            results_throughput = throughput(targets, wrk, args, notes)
    if args.throughput_only:
        data = _results(args, started, started_at, load_before, wrk, results_throughput, notes)
        print(report.write(data, args.output))
        return

    print("== list latency by sandbox size", flush=True)
    with running([mock_target(free_port())]) as (scale_mock,):
        results_scale = scale.run(scale_mock, wrk)

    print(f"== memory per record ({args.records:,} records)", flush=True)
    results_memory = memory(args.records)
    print(f"  {results_memory}", flush=True)

    print("== conformance run time", flush=True)
    if conformance_speed.available():
        every_api = Target("mock-all", [*mock_target(0).command[:2], "--host", "127.0.0.1"])
        every_api.port = free_port()
        every_api.command = [*every_api.command, "--port", str(every_api.port)]
        with running([every_api]):
            results_conformance = conformance_speed.run(every_api)
    else:
        results_conformance = conformance_speed.run(targets[0])
        print(f"  skipped: {results_conformance['skipped']}", flush=True)

    data = _results(args, started, started_at, load_before, wrk, results_throughput, notes)
    data.update(scale=results_scale, memory=results_memory, conformance=results_conformance)
    print(report.write(data, args.output))


def _target(name: str, redis: Target) -> Target:
    """The throughput target `name`; the Redis ones each get a database of `redis`."""
    if name in REDIS_WORKERS:
        database = list(REDIS_WORKERS).index(name) + 1
        store = f"redis://127.0.0.1:{redis.port}/{database}"
        return mock_target(free_port(), name, store, REDIS_WORKERS[name])
    if name == "mock-slow":
        return mock_target(free_port(), name, slow_path=True)
    if name == "mock-uvicorn":
        return mock_target(free_port(), name, server="uvicorn")
    return {"mock": mock_target, "prism": prism_target, "ceiling": ceiling_target}[name](
        free_port()
    )


def _results(
    args: argparse.Namespace,
    started: float,
    started_at: str,
    load_before: tuple[float, float, float],
    wrk: str | None,
    results_throughput: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    return {
        "environment": {
            "started": started_at,
            "wall_seconds": time.perf_counter() - started,
            "cpus": os.cpu_count(),
            "loadavg": " ".join(f"{x:.2f}" for x in load_before),
            "loadavg_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "python": platform.python_version(),
            "load_generator": f"wrk ({wrk}), 1 thread" if wrk else "Python asyncio fallback",
            "connections": args.connections,
            "seconds": args.seconds,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "targets": {
                name: description
                for name, description in TARGETS.items()
                if name in results_throughput["median"]
            },
        },
        "throughput": results_throughput,
        "notes": notes,
    }


if __name__ == "__main__":
    main()
