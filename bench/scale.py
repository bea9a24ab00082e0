"""List latency as a sandbox grows: 1k, 10k and 100k records, loaded through the control plane.

Pages are served from sorted indexes, so a page of ten should cost about the same at any size;
this checks it, one connection at a time so the figure is latency, not queueing.
"""

import statistics
import time
from typing import Any

from bench.targets import SANDBOX, Target, post_json
from bench.wrk import Endpoint, Run, measure

STATUSES = ["pending"] + ["verified"] * 6 + ["failed"] * 3  # 10% pending
CUSTOMERS = 1000
CHUNK = 10_000
SIZES = [1_000, 10_000, 100_000]
QUERIES = [
    Endpoint("list", "GET", "/v1/kyc?limit=10"),
    Endpoint("list filtered", "GET", "/v1/kyc?verification_status=pending&limit=10"),
    Endpoint(
        "list 2 filters",
        "GET",
        "/v1/kyc?customer_id=cust000000000007&verification_status=failed&limit=10",
    ),
]


def record(i: int) -> dict[str, Any]:
    """The i-th generated FinX record (ids are 16 alphanumerics, as the spec requires)."""
    return {
        "id": f"rec{i:013d}",
        "customer_id": f"cust{i % CUSTOMERS:012d}",
        "verification_status": STATUSES[i % len(STATUSES)],
        "document_type": "passport",
        "document_number": f"{100000000 + i}",
    }


def fixtures(sandbox: str, start: int, stop: int) -> dict[str, Any]:
    entries = [
        {"sandbox": sandbox, "api": "finx", "resource": "kyc_record", "record": record(i)}
        for i in range(start, stop)
    ]
    return {"records": entries}


def seed_throughput(target: Target) -> None:
    """The 1k records every throughput target starts with, plus the two the endpoints use."""
    body = fixtures(SANDBOX, 0, 1000)
    body["records"] += [
        {
            "sandbox": SANDBOX,
            "api": "finx",
            "resource": "kyc_record",
            "record": {**record(1000), "id": "benchVerified001", "verification_status": "verified"},
        },
        {
            "sandbox": SANDBOX,
            "api": "finx",
            "resource": "kyc_record",
            "record": {**record(1001), "id": "benchPending0001", "verification_status": "pending"},
        },
    ]
    post_json(target.url + "/__mock/fixtures", body)


def load(target: Target, sandbox: str, count: int) -> float:
    """Load `count` records into `sandbox`; returns the seconds it took."""
    started = time.perf_counter()
    for start in range(0, count, CHUNK):
        post_json(
            target.url + "/__mock/fixtures", fixtures(sandbox, start, min(count, start + CHUNK))
        )
    return time.perf_counter() - started


def run(
    target: Target, wrk: str | None, seconds: float = 2.0, rounds: int = 3
) -> list[dict[str, Any]]:
    """p50/p99 of each list query at each size, one connection: every size loaded first, then
    `rounds` interleaved rounds over every size and query (so drift on a shared machine hits
    every size alike), medians quoted."""
    loaded = {size: load(target, f"scale{size}", size) for size in SIZES}
    runs: dict[tuple[int, str], list[Run]] = {}
    for round_number in range(rounds):
        for size in SIZES:
            headers = {"Authorization": f"Bearer test_scale{size}"}
            for query in QUERIES:
                if round_number == 0:
                    measure(wrk, target.url, query, headers, seconds=0.5, connections=1)
                result = measure(wrk, target.url, query, headers, seconds=seconds, connections=1)
                runs.setdefault((size, query.name), []).append(result)
    results = []
    for size in SIZES:
        for query in QUERIES:
            measured = runs[(size, query.name)]
            p50 = statistics.median(r.p50_ms for r in measured)
            p99 = statistics.median(r.p99_ms for r in measured)
            results.append(
                {
                    "records": size,
                    "query": query.name,
                    "path": query.path,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "rps": statistics.median(r.rps for r in measured),
                    "non2xx": sum(r.non2xx for r in measured),
                    "load_seconds": loaded[size],
                }
            )
            print(
                f"  scale {size:>7} {query.name:<15} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
                f"  (loaded in {loaded[size]:.1f}s, median of {rounds})",
                flush=True,
            )
    return results
