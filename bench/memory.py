"""Resident memory per stored record: RSS of a fresh process before and after 1M FinX records.

Run as its own process (`python -m bench.memory N`) so nothing else is in the heap. Records are
JSON-decoded before loading, as the control plane would do, so every value is its own object.
"""

import gc
import json
import sys
import time

import orjson

from bench.scale import CHUNK, record
from mockserver.app import create_app
from mockserver.fixtures import FixtureRecord


def rss_bytes() -> int:
    """VmRSS of this process, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(count: int) -> None:
    app = create_app(api="finx")
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    for start in range(0, count, CHUNK):
        batch = orjson.loads(
            orjson.dumps([record(i) for i in range(start, min(count, start + CHUNK))])
        )
        app.server.load(FixtureRecord("memory", "finx", "kyc_record", r) for r in batch)
        del batch
    seconds = time.perf_counter() - started
    gc.collect()
    after = rss_bytes()
    print(
        json.dumps(
            {
                "records": count,
                "rss_before": before,
                "rss_after": after,
                "bytes_per_record": (after - before) / count,
                "load_seconds": seconds,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
