"""List latency as a sandbox grows: 1k, 10k and 100k records, loaded through the control plane.

Pages are served from sorted indexes, so a page of ten should cost about the same at any size;
this checks it, one connection at a time so the figure is latency, not queueing.
"""

import time
from typing import Any

from bench.targets import SANDBOX, Target, post_json
from bench.wrk import Endpoint, measure

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


def run(target: Target, wrk: str | None, seconds: float = 2.0) -> list[dict[str, Any]]:
    """p50/p99 of each list query at each size, one connection."""
    results = []
    for size in SIZES:
        sandbox = f"scale{size}"
        load_seconds = load(target, sandbox, size)
        headers = {"Authorization": f"Bearer test_{sandbox}"}
        for query in QUERIES:
            measure(wrk, target.url, query, headers, seconds=0.5, connections=1)  # warm-up
            result = measure(wrk, target.url, query, headers, seconds=seconds, connections=1)
            results.append(
                {
                    "records": size,
                    "query": query.name,
                    "path": query.path,
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    "rps": result.rps,
                    "non2xx": result.non2xx,
                    "load_seconds": load_seconds,
                }
            )
            print(
                f"  scale {size:>7} {query.name:<15} p50 {result.p50_ms:6.2f} ms"
                f"  p99 {result.p99_ms:6.2f} ms  (loaded in {load_seconds:.1f}s)",
                flush=True,
            )
    return results
