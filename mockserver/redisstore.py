"""`redis://HOST:PORT/DB`: every sandbox and the request log in Redis, shared by processes.

Any number of mock processes (uvicorn workers, replicas behind a load balancer) may serve
from one Redis database; each request reads Redis directly, so a write on one process is
visible on every other at once. Keys (all under `kyc:`):

- `kyc:sandboxes` (set of names), `kyc:baseline` (set once the start-up fixtures are loaded),
  `kyc:log` (list of JSON entries, newest first, trimmed to the log size);
- per sandbox `kyc:sb:<name>:clock` (JSON: offset and frozen moment) and
  `kyc:sb:<name>:cols` (hash of the collections written: digest -> key, id field, indexes);
- per collection `kyc:sb:<name>:c:<digest>:` + `rec` (hash id -> record JSON), `ord` (sorted
  set of ids by sequence number), `next` (the next sequence number), `ix` (hash id -> the
  index keys the record is in), `tm` (sorted set of `<moment>|<id>` timers by moment, in
  Unix seconds) and
  `i:<field>:<value digest>` (sorted set of ids by sequence number, one per indexed value).

Atomicity across processes: every write is one Lua script, which Redis runs alone. A record
is read, changed in Python and written back with a compare-and-set: the script writes only
if the record is still exactly what this collection object read, and otherwise raises
`StoreConflict`, on which the engine runs the request again on the state that won. Inserts
take their sequence number inside the script, so creates never conflict; a conflict costs
one retry, and only writes to the same record conflict. Clock changes use WATCH/MULTI
(redis-py's `transaction`). Scripts touch keys they compute, so this needs one Redis, not a
cluster. When Redis stops answering, every method raises `StoreUnavailable` (a 503).
"""

import functools
import hashlib
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

import orjson
import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from kycspec.types import JSONObject
from mockserver.clock import MockClock
from mockserver.store import (
    Collection,
    CollectionKey,
    LoggedRequest,
    Predicate,
    StoreConflict,
    StoreError,
    StoreUnavailable,
    dump_clock,
    matches,
    restore_clock,
)

PREFIX = "kyc:"
# The client blocks the event loop while it waits, so it gives up quickly: a lost connection is
# tried again a few times within about 0.2 s, then the request gets 503. A URL's query
# (`?socket_timeout=...`) overrides these.
CONNECT_TIMEOUT_S = 2.0
REPLY_TIMEOUT_S = 5.0
RETRIES = 3
_T = TypeVar("_T")
UNREACHABLE = "cannot reach Redis at {url}: {reason}"
_BATCH_MAX = 1000

_UNINDEX = """
local function unindex(ix, id)
  local keys = redis.call('HGET', ix, id)
  if keys then
    for _, k in ipairs(cjson.decode(keys)) do redis.call('ZREM', k, id) end
    redis.call('HDEL', ix, id)
  end
end
"""

# KEYS: rec, ord, ix, next, cols, sandboxes. ARGV: id, record, index keys, digest, meta, name.
_INSERT = (
    _UNINDEX
    + """
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 1 then
  unindex(KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
end
local seq = redis.call('INCR', KEYS[4]) - 1
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('ZADD', KEYS[2], seq, id)
for _, k in ipairs(cjson.decode(ARGV[3])) do redis.call('ZADD', k, seq, id) end
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HSETNX', KEYS[5], ARGV[4], ARGV[5])
redis.call('SADD', KEYS[6], ARGV[6])
return seq
"""
)

# KEYS: rec, ord, ix. ARGV: id, the record as read, the new record, its index keys.
_REPLACE = (
    _UNINDEX
    + """
local id = ARGV[1]
if redis.call('HGET', KEYS[1], id) ~= ARGV[2] then return 0 end
local seq = redis.call('ZSCORE', KEYS[2], id)
unindex(KEYS[3], id)
redis.call('HSET', KEYS[1], id, ARGV[3])
for _, k in ipairs(cjson.decode(ARGV[4])) do redis.call('ZADD', k, seq, id) end
redis.call('HSET', KEYS[3], id, ARGV[4])
return 1
"""
)

# KEYS: rec, ord, ix. ARGV: id, the record as read ('' when it was not read).
# Returns the deleted record, 0 when there was none, -1 when it changed since it was read.
_DELETE = (
    _UNINDEX
    + """
local id = ARGV[1]
local current = redis.call('HGET', KEYS[1], id)
if not current then return 0 end
if ARGV[2] ~= '' and current ~= ARGV[2] then return -1 end
unindex(KEYS[3], id)
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
return current
"""
)

# KEYS: rec, ord, then the equality indexes that the predicates can use. ARGV: highest score
# (exclusive form allowed), offset, count. Reads the smallest of the indexes (nothing when one
# is empty), or `ord` when there is none. Returns id, record, sequence number, ... newest
# first (a record deleted meanwhile: false).
_PAGE = """
local source, smallest = KEYS[2], nil
for i = 3, #KEYS do
  local size = redis.call('ZCARD', KEYS[i])
  if size == 0 then return {} end
  if smallest == nil or size < smallest then source, smallest = KEYS[i], size end
end
local scored = redis.call(
  'ZREVRANGEBYSCORE', source, ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
local found = {}
if #scored == 0 then return found end
local ids = {}
for i = 1, #scored, 2 do ids[#ids + 1] = scored[i] end
local records = redis.call('HMGET', KEYS[1], unpack(ids))
for i, id in ipairs(ids) do
  found[3 * i - 2] = id
  found[3 * i - 1] = records[i]
  found[3 * i] = scored[2 * i]
end
return found
"""

# KEYS: tm. ARGV: now (Unix seconds). Takes the due timers off, once for all processes.
_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #ids > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return ids
"""

# KEYS: sandboxes. ARGV: key pattern, sandbox name ('' for all).
_RESET = """
local cursor = '0'
repeat
  local reply = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 500)
  cursor = reply[1]
  local keys = reply[2]
  for i = 1, #keys, 500 do
    redis.call('UNLINK', unpack(keys, i, math.min(i + 499, #keys)))
  end
until cursor == '0'
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SREM', KEYS[1], ARGV[2]) end
return 1
"""


class _Scripts:
    """The Lua scripts, registered once per client (run by SHA, loaded again if flushed)."""

    def __init__(self, client: Any) -> None:
        self.insert = client.register_script(_INSERT)
        self.replace = client.register_script(_REPLACE)
        self.delete = client.register_script(_DELETE)
        self.page = client.register_script(_PAGE)
        self.due = client.register_script(_DUE)
        self.reset = client.register_script(_RESET)


_LOST = (redis.ConnectionError, redis.TimeoutError)


def _reported(cls: type[_T]) -> type[_T]:
    """The class, with every method raising `StoreUnavailable` when Redis cannot be reached."""
    for name, method in list(vars(cls).items()):
        if callable(method) and (not name.startswith("_") or name in ("__len__", "__iter__")):
            setattr(cls, name, _translated(method))
    return cls


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generate(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(*args, **kwargs)
            except _LOST as exc:
                raise StoreUnavailable(str(exc)) from exc

        return generate

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except _LOST as exc:
            raise StoreUnavailable(str(exc)) from exc

    return call


def _digest(value: Any) -> str:
    return hashlib.sha1(orjson.dumps(value), usedforsecurity=False).hexdigest()[:20]


@_reported
class RedisCollection:
    """A `Collection` in Redis; one object per request, remembering what it read.

    `replace` and `delete` write only if the record is still as this object read it, and
    raise `StoreConflict` otherwise.
    """

    def __init__(
        self,
        client: Any,
        scripts: _Scripts,
        sandbox: str,
        key: CollectionKey,
        id_field: str,
        indexed: Iterable[str],
    ):
        self.id_field = id_field
        self.indexed = tuple(indexed)
        self._client = client
        self._scripts = scripts
        self._sandbox = sandbox
        self._digest = _digest(key)
        self._meta = orjson.dumps(
            {"key": [key[0], key[1], list(key[2])], "id_field": id_field, "indexed": self.indexed}
        )
        base = f"{PREFIX}sb:{sandbox}:c:{self._digest}:"
        self._base = base
        self._rec, self._ord, self._ix = base + "rec", base + "ord", base + "ix"
        self._next, self._tm = base + "next", base + "tm"
        self._seen: dict[str, bytes] = {}
        self._seqs: dict[str, int] = {}

    def __len__(self) -> int:
        return int(self._client.zcard(self._ord))

    def __iter__(self) -> Iterator[JSONObject]:
        """Records oldest first, read in batches."""
        start = 0
        while True:
            ids = self._client.zrange(self._ord, start, start + _BATCH_MAX - 1)
            if not ids:
                return
            for record_id, raw in zip(ids, self._client.hmget(self._rec, ids), strict=True):
                if raw is not None:
                    yield self._read(record_id.decode(), raw)
            start += len(ids)

    def get(self, record_id: str) -> JSONObject | None:
        raw = self._client.hget(self._rec, record_id)
        return None if raw is None else self._read(record_id, raw)

    def seq(self, record_id: str) -> int | None:
        known = self._seqs.get(record_id)  # a record of a page this object read
        if known is not None:
            return known
        score = self._client.zscore(self._ord, record_id)
        return None if score is None else int(score)

    def insert(self, record: JSONObject) -> None:
        record_id = str(record[self.id_field])
        raw = orjson.dumps(record)
        self._scripts.insert(
            keys=[
                self._rec,
                self._ord,
                self._ix,
                self._next,
                f"{PREFIX}sb:{self._sandbox}:cols",
                f"{PREFIX}sandboxes",
            ],
            args=[
                record_id,
                raw,
                self._index_keys(record),
                self._digest,
                self._meta,
                self._sandbox,
            ],
        )
        self._seen[record_id] = raw

    def replace(self, record: JSONObject) -> None:
        record_id = str(record[self.id_field])
        expected = self._seen.get(record_id)
        if expected is None:
            expected = self._client.hget(self._rec, record_id) or b""
        raw = orjson.dumps(record)
        written = self._scripts.replace(
            keys=[self._rec, self._ord, self._ix],
            args=[record_id, expected, raw, self._index_keys(record)],
        )
        if not written:
            raise StoreConflict
        self._seen[record_id] = raw

    def delete(self, record_id: str) -> JSONObject | None:
        expected = self._seen.pop(record_id, None)
        result = self._scripts.delete(
            keys=[self._rec, self._ord, self._ix], args=[record_id, expected or b""]
        )
        if result == -1 or (result == 0 and expected is not None):
            raise StoreConflict
        return orjson.loads(result) if isinstance(result, bytes) else None

    def newest(self, name: str, value: Any) -> JSONObject | None:
        for record in self.page([(name, "eq", value)], limit=1)[0]:
            return record
        return None

    def page(
        self, predicates: list[Predicate], limit: int, before: int | None = None
    ) -> tuple[list[JSONObject], bool]:
        """As `MemoryCollection.page`: newest first over the smallest equality index; one
        round trip per batch, the index choice included."""
        indexes = [
            self._index_key(name, value)
            for name, op, value in predicates
            if op == "eq" and name in self.indexed and value is not None
        ]
        keys = [self._rec, self._ord, *indexes]
        highest = "+inf" if before is None else f"({before}"
        result: list[JSONObject] = []
        offset, count = 0, limit + 1
        while True:
            found = self._scripts.page(keys=keys, args=[highest, offset, count])
            if not found:
                return result, False
            for record_id, raw, seq in zip(found[::3], found[1::3], found[2::3], strict=True):
                if not raw:
                    continue  # deleted between the index and the read
                record = self._read(record_id.decode(), raw)
                if matches(record, predicates):
                    if len(result) == limit:
                        return result, True
                    self._seqs[record_id.decode()] = int(seq)
                    result.append(record)
            offset += len(found) // 3
            count = min(count * 2, _BATCH_MAX)

    def schedule(self, when: datetime, record_id: str) -> None:
        moment = when.timestamp()
        self._client.zadd(self._tm, {f"{moment!r}|{record_id}": moment})

    def due(self, now: datetime) -> list[str]:
        ready = self._scripts.due(keys=[self._tm], args=[now.timestamp()])
        return list(dict.fromkeys(timer.decode().split("|", 1)[1] for timer in ready))

    def _read(self, record_id: str, raw: bytes) -> JSONObject:
        self._seen[record_id] = raw
        return orjson.loads(raw)  # type: ignore[no-any-return]

    def _index_key(self, name: str, value: Any) -> str:
        return f"{self._base}i:{name}:{_digest(value)}"

    def _index_keys(self, record: JSONObject) -> bytes:
        return orjson.dumps(
            [
                self._index_key(name, record[name])
                for name in self.indexed
                if record.get(name) is not None
            ]
        )


@_reported
class RedisStore:
    """A `Store` in one Redis database (see the module docstring for the layout)."""

    shared = True

    def __init__(self, url: str, *, log_size: int = 1000):
        try:
            # Typed as Any: redis-py's return types are unions of every reply shape.
            self._client: Any = redis.Redis.from_url(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=REPLY_TIMEOUT_S,
                retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), RETRIES),
            )
            self._client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(UNREACHABLE.format(url=url, reason=exc)) from exc
        self.url = url
        self.log_size = log_size
        self._scripts = _Scripts(self._client)

    def clock(self, sandbox: str) -> MockClock:
        pipe = self._client.pipeline(transaction=False)
        pipe.sadd(f"{PREFIX}sandboxes", sandbox)
        pipe.get(self._clock_key(sandbox))
        raw = pipe.execute()[1]
        return MockClock() if raw is None else restore_clock(orjson.loads(raw))

    def update_clock(self, sandbox: str, change: Callable[[MockClock], None]) -> MockClock:
        key = self._clock_key(sandbox)

        def update(pipe: Any) -> MockClock:
            raw = pipe.get(key)
            clock = MockClock() if raw is None else restore_clock(orjson.loads(raw))
            change(clock)
            pipe.multi()
            pipe.set(key, orjson.dumps(dump_clock(clock)))
            pipe.sadd(f"{PREFIX}sandboxes", sandbox)
            return clock

        clock: MockClock = self._client.transaction(update, key, value_from_callable=True)
        return clock

    def collection(
        self, sandbox: str, key: CollectionKey, id_field: str, indexed: Iterable[str]
    ) -> RedisCollection:
        return RedisCollection(self._client, self._scripts, sandbox, key, id_field, indexed)

    def collections(self, sandbox: str) -> list[tuple[CollectionKey, Collection]]:
        found: list[tuple[CollectionKey, Collection]] = []
        for raw in self._client.hvals(f"{PREFIX}sb:{sandbox}:cols"):
            meta = orjson.loads(raw)
            api, resource, partition = meta["key"]
            key = (api, resource, tuple(partition))
            found.append((key, self.collection(sandbox, key, meta["id_field"], meta["indexed"])))
        return found

    def sandboxes(self) -> list[str]:
        return sorted(name.decode() for name in self._client.smembers(f"{PREFIX}sandboxes"))

    def reset(self, name: str | None = None) -> None:
        pattern = f"{PREFIX}sb:*" if name is None else f"{PREFIX}sb:{name}:*"
        self._scripts.reset(keys=[f"{PREFIX}sandboxes"], args=[pattern, name or ""])

    def claim_baseline(self) -> bool:
        return bool(self._client.set(f"{PREFIX}baseline", 1, nx=True))

    def log(self, entry: LoggedRequest) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.lpush(f"{PREFIX}log", orjson.dumps(asdict(entry)))
        pipe.ltrim(f"{PREFIX}log", 0, self.log_size - 1)
        pipe.execute()

    def requests(self, sandbox: str | None = None, limit: int = 100) -> list[LoggedRequest]:
        entries = (
            LoggedRequest(**orjson.loads(raw)) for raw in self._client.lrange(f"{PREFIX}log", 0, -1)
        )
        chosen = [e for e in entries if sandbox is None or e.sandbox == sandbox][:limit]
        return chosen[::-1]

    def clear_log(self) -> None:
        self._client.delete(f"{PREFIX}log")

    def close(self) -> None:
        self._client.close()

    @staticmethod
    def _clock_key(sandbox: str) -> str:
        return f"{PREFIX}sb:{sandbox}:clock"
