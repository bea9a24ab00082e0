"""Process CPU per request, in-process: the mock's Python work without a server or the network.

`python -m bench.cpu` builds the FinX mock twice in this process (`create_app(api="finx")`, once
with `slow_path=True`, connexion's reference chain), seeds both with the 1,002 records
`make bench` uses, and sends each the `bench.wrk` endpoints as ASGI calls (the scope uvicorn
would build, the body in one message). Per endpoint and path it prints

- the process CPU time per request (`time.process_time`), best of `--rounds` rounds, the rounds
  interleaved across the two paths so that a busy machine slows both alike;
- with `--calls`, the Python function calls per request (cProfile's count over `--requests`
  requests after a warm-up), a figure independent of the machine's load.

Each round starts from a fresh seed, so creates do not grow what the list filters.
"""

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import time
from collections.abc import Callable, Coroutine, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from bench.scale import record
from bench.targets import SANDBOX, TOKEN
from bench.wrk import ENDPOINTS, Endpoint
from mockserver.app import MockApp, create_app

Call = Callable[[], Coroutine[Any, Any, int]]


def seed(app: MockApp) -> Call:
    """The request that loads `bench.scale.seed_throughput`'s records into the app."""
    entries = [
        {"sandbox": SANDBOX, "api": "finx", "resource": "kyc_record", "record": record(i)}
        for i in range(1000)
    ]
    extra = [("benchVerified001", "verified"), ("benchPending0001", "pending")]
    for number, (record_id, status) in enumerate(extra, start=1000):
        entries.append(
            {
                "sandbox": SANDBOX,
                "api": "finx",
                "resource": "kyc_record",
                "record": {**record(number), "id": record_id, "verification_status": status},
            }
        )
    body = json.dumps({"records": entries})
    endpoint = Endpoint("seed", "POST", "/__mock/fixtures", body, "application/json")
    return caller(app, endpoint)


def caller(app: MockApp, endpoint: Endpoint) -> Call:
    """One request to `app`, as uvicorn would hand it over; returns the status."""
    url = urlsplit(endpoint.path)
    body = endpoint.body.encode()
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", f"Bearer {TOKEN}".encode()),
    ]
    if body:
        headers += [
            (b"content-type", endpoint.content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": endpoint.method,
        "root_path": "",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": url.query.encode(),
        "headers": headers,
        "state": {},
    }

    async def call() -> int:
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status = 0

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope), receive, send)
        return status

    return call


async def _repeat(call: Call, count: int) -> None:
    for _ in range(count):
        await call()


def cpu_per_request(app: MockApp, endpoint: Endpoint, count: int) -> float:
    """Microseconds of process CPU per request over `count` requests, after a fresh seed."""
    app.server.reset()
    asyncio.run(seed(app)())
    call = caller(app, endpoint)
    status = asyncio.run(call())
    if status >= 300:
        raise SystemExit(f"{endpoint.name}: answered {status}")
    gc.collect()
    started = time.process_time()
    asyncio.run(_repeat(call, count))
    return 1e6 * (time.process_time() - started) / count


def calls_per_request(app: MockApp, endpoint: Endpoint, count: int) -> tuple[float, str]:
    """Python function calls per request (cProfile), and the top functions by own time."""
    app.server.reset()
    asyncio.run(seed(app)())
    call = caller(app, endpoint)
    asyncio.run(_repeat(call, 20))
    profiler = cProfile.Profile()
    loop = asyncio.new_event_loop()
    try:
        profiler.enable()
        loop.run_until_complete(_repeat(call, count))
        profiler.disable()
    finally:
        loop.close()
    stats = pstats.Stats(profiler)
    total = stats.total_calls  # type: ignore[attr-defined]
    return total / count, _top(stats, count)


def _top(stats: pstats.Stats, count: int, shown: int = 25) -> str:
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    lines = []
    for (file, line, name), (_, ncalls, tottime, cumtime, _) in rows[:shown]:
        short = file.rsplit("site-packages/", 1)[-1].rsplit("hotpath/", 1)[-1]
        lines.append(
            f"    {1e6 * tottime / count:7.1f} us own {1e6 * cumtime / count:7.1f} us cum "
            f"{ncalls / count:6.1f} calls  {short}:{line} {name}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="requests per endpoint, round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--endpoints", default=",".join(e.name for e in ENDPOINTS))
    parser.add_argument("--paths", default="fast,slow", help="fast, slow or both")
    parser.add_argument("--calls", action="store_true", help="also count calls per request")
    parser.add_argument("--top", action="store_true", help="with --calls, the top functions")
    args = parser.parse_args()
    wanted = args.endpoints.split(",")
    endpoints = [e for e in ENDPOINTS if e.name in wanted]
    apps = {
        path: create_app(api="finx", slow_path=path == "slow") for path in args.paths.split(",")
    }
    gc.freeze()  # as `mockserver serve` does after start-up
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.rounds):
        for endpoint in endpoints:
            for path, app in apps.items():
                figure = cpu_per_request(app, endpoint, args.requests)
                key = (endpoint.name, path)
                best[key] = min(best.get(key, figure), figure)
    print(f"process CPU per request, us, best of {args.rounds} rounds of {args.requests}")
    print(f"{'endpoint':<16}" + "".join(f"{path:>10}" for path in apps))
    for endpoint in endpoints:
        row = "".join(f"{best[(endpoint.name, path)]:10.0f}" for path in apps)
        print(f"{endpoint.name:<16}{row}", flush=True)
    if args.calls:
        print("\nPython function calls per request (cProfile)")
        for endpoint in endpoints:
            for path, app in apps.items():
                calls, top = calls_per_request(app, endpoint, args.requests)
                print(f"{endpoint.name:<16}{path:>6} {calls:8.0f}")
                if args.top:
                    print(top)


if __name__ == "__main__":
    main()
