"""How to make a read-change-write of one record atomic across processes on Redis: measured.

`python -m bench.store_writes` starts its own redis-server (`bench.targets.redis_target`) and
runs three strategies, each a loop of "read the record, change
a field in Python, write it back only if nobody changed it in between", from 1 and 2 processes
at once, all on one record (every write contends) and on one record per process (none does):

- `lua-cas`: HGET, then one Lua script that writes only if the stored value is still the one
  read (what `mockserver.redisstore` does); 2 round trips, a retry on conflict;
- `watch-multi`: WATCH, HGET, MULTI/HSET/EXEC (redis-py `transaction`); 3 round trips, a retry
  on conflict; WATCH guards a whole key, so records kept in one hash conflict with each other;
- `lock`: SET NX PX lock (spin until taken), HGET, HSET, then a Lua compare-and-delete of the
  lock; 4 round trips, waits instead of retries.

Prints writes per second (all processes together) and retries per write, as Markdown.
"""

import argparse
import multiprocessing
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import redis

from bench.targets import ensure_redis, free_port, redis_target, running

RECORD_KEY = "bench:records"
CAS = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
STRATEGIES = ("lua-cas", "watch-multi", "lock")


def _changed(raw: bytes) -> bytes:
    record = orjson.loads(raw)
    record["version"] += 1
    return orjson.dumps(record)


def _lua_cas(client: Any, script: Any, record_id: str) -> int:
    retries = 0
    while True:
        raw = client.hget(RECORD_KEY, record_id)
        if script(keys=[RECORD_KEY], args=[record_id, raw, _changed(raw)]):
            return retries
        retries += 1


def _watch_multi(client: Any, record_id: str) -> int:
    attempts = 0

    def write(pipe: Any) -> None:
        nonlocal attempts
        attempts += 1
        raw = pipe.hget(RECORD_KEY, record_id)
        pipe.multi()
        pipe.hset(RECORD_KEY, record_id, _changed(raw))

    client.transaction(write, RECORD_KEY)
    return attempts - 1


def _locked(client: Any, unlock: Any, record_id: str) -> int:
    lock, token = f"bench:lock:{record_id}", uuid.uuid4().hex
    waits = 0
    while not client.set(lock, token, nx=True, px=1000):
        waits += 1
    raw = client.hget(RECORD_KEY, record_id)
    client.hset(RECORD_KEY, record_id, _changed(raw))
    unlock(keys=[lock], args=[token])
    return waits


def _worker(url: str, strategy: str, record_id: str, seconds: float, out: Any) -> None:
    client = redis.Redis.from_url(url)
    cas, unlock = client.register_script(CAS), client.register_script(UNLOCK)
    writes = retries = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if strategy == "lua-cas":
            retries += _lua_cas(client, cas, record_id)
        elif strategy == "watch-multi":
            retries += _watch_multi(client, record_id)
        else:
            retries += _locked(client, unlock, record_id)
        writes += 1
    out.put((writes, retries))


def measure(url: str, strategy: str, processes: int, shared: bool, seconds: float) -> str:
    """One Markdown row: writes/s of all processes together, retries (or lock waits) per write."""
    client = redis.Redis.from_url(url)
    ids = ["one"] * processes if shared else [f"own-{n}" for n in range(processes)]
    for record_id in set(ids):
        client.hset(RECORD_KEY, record_id, orjson.dumps({"version": 0, "status": "pending"}))
    out: Any = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_worker, args=(url, strategy, rid, seconds, out))
        for rid in ids
    ]
    for worker in workers:
        worker.start()
    results = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    writes = sum(w for w, _ in results)
    retries = sum(r for _, r in results)
    total = sum(int(orjson.loads(client.hget(RECORD_KEY, rid))["version"]) for rid in set(ids))
    assert total == writes, f"{strategy}: {writes} writes acknowledged, {total} applied"
    contention = "one record" if shared else "a record each"
    return (
        f"| {strategy} | {processes} | {contention} | {writes / seconds:,.0f} | "
        f"{retries / max(writes, 1):.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement")
    args = parser.parse_args()
    problem = ensure_redis()
    if problem:
        raise SystemExit(problem)
    with tempfile.TemporaryDirectory(prefix="bench-store-writes-") as directory:
        server = redis_target(free_port(), Path(directory))
        with running([server]):
            url = f"redis://127.0.0.1:{server.port}/0"
            rows = [
                measure(url, strategy, processes, shared, args.seconds)
                for processes, shared in ((1, True), (2, True), (2, False))
                for strategy in STRATEGIES
            ]
    print("| strategy | processes | writes to | writes/s | retries or waits per write |")
    print("|---|---:|---|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
