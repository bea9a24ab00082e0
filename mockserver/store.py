"""Where the mock keeps its state: the `Store` protocol and its in-memory backend.

A store holds sandboxes (each a clock and collections of records) and the request log. The
in-memory backend is the default; `mockserver.filestore` saves it to a file and
`mockserver.redisstore` keeps everything in Redis, shared by any number of mock processes.

In memory, all access happens on the event loop thread and no method awaits, so every
operation is atomic with respect to concurrent requests.
"""

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sortedcontainers import SortedList

from kycspec.types import JSONObject
from mockserver.clock import MockClock

Partition = tuple[str, ...]
CollectionKey = tuple[str, str, Partition]  # (api, resource, partition values)
Predicate = tuple[str, str, Any]  # (field, op, value)

_OPS = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
}


STORE_CONFLICT = "the record changed since it was read"


class StoreError(ValueError):
    """A store that cannot be opened (bad URL, unreadable file, unreachable Redis)."""


class StoreUnavailable(Exception):
    """A shared store that stopped answering while the mock runs (Redis down, say).

    Requests then get 503 in the vendor's error envelope, with `Retry-After`.
    """


class StoreConflict(Exception):
    """A write refused because another process changed the record since this one read it.

    Only shared stores raise it; the engine handles the request again from the start.
    """

    def __init__(self, detail: str = STORE_CONFLICT):
        super().__init__(detail)


class Collection(Protocol):
    """The records of one resource in one sandbox partition, oldest to newest.

    Every record has a sequence number, given at insert and kept by `replace`; pages and
    cursors are in those numbers. A shared store's `replace` and `delete` refuse, with
    `StoreConflict`, to overwrite a record that changed since this collection object read it.
    """

    id_field: str

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[JSONObject]: ...

    def get(self, record_id: str) -> JSONObject | None: ...

    def seq(self, record_id: str) -> int | None: ...

    def insert(self, record: JSONObject) -> None: ...

    def replace(self, record: JSONObject) -> None: ...

    def delete(self, record_id: str) -> JSONObject | None: ...

    def newest(self, name: str, value: Any) -> JSONObject | None: ...

    def page(
        self, predicates: list[Predicate], limit: int, before: int | None = None
    ) -> tuple[list[JSONObject], bool]: ...

    def schedule(self, when: datetime, record_id: str) -> None: ...

    def due(self, now: datetime) -> list[str]: ...


def matcher(predicates: list[Predicate]) -> Callable[[JSONObject], bool]:
    """The test of a record against every predicate (a missing field meets only `eq None`),
    with each predicate's comparison looked up once."""
    if len(predicates) == 1:
        ((name, op, value),) = predicates
        compare = _OPS[op]
        return lambda record: compare(record.get(name), value)
    tests = [(name, _OPS[op], value) for name, op, value in predicates]
    return lambda record: all(compare(record.get(name), value) for name, compare, value in tests)


def matches(record: JSONObject, predicates: list[Predicate]) -> bool:
    """Whether the record meets every predicate (`matcher`)."""
    return matcher(predicates)(record)


class MemoryCollection:
    """A `Collection` in process memory.

    Records keep their insertion sequence number; pages run newest first over a sorted index
    of those numbers, or over a smaller per-value index when an equality filter has one.
    `on_change`, when given, is called after every change (the file store's save trigger).
    """

    def __init__(
        self,
        id_field: str,
        indexed: Iterable[str] = (),
        on_change: Callable[[], None] | None = None,
    ):
        self.id_field = id_field
        self.indexed = tuple(indexed)
        self.on_change = on_change
        self._records: dict[str, JSONObject] = {}
        self._seq: dict[str, int] = {}
        self._ids: dict[int, str] = {}
        self._order: SortedList = SortedList()
        self._indexes: dict[str, dict[Any, SortedList]] = {name: {} for name in indexed}
        self._timers: list[tuple[datetime, int, str]] = []
        self._next = 0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[JSONObject]:
        """Records oldest first."""
        return (self._records[self._ids[seq]] for seq in self._order)

    def get(self, record_id: str) -> JSONObject | None:
        return self._records.get(record_id)

    def seq(self, record_id: str) -> int | None:
        return self._seq.get(record_id)

    def insert(self, record: JSONObject) -> None:
        record_id = record[self.id_field]
        if record_id in self._records:
            self._remove(record_id)
        self._place(record, self._next)
        self._changed()

    def replace(self, record: JSONObject) -> None:
        """Store a changed version of an existing record (same id, same place in the order)."""
        record_id = record[self.id_field]
        seq = self._seq[record_id]
        old = self._records[record_id]
        self._records[record_id] = record
        for name, index in self._indexes.items():
            before, after = old.get(name), record.get(name)
            if before != after:  # an equal value stays in its index entry
                _unindex(index, before, seq)
                _index(index, after, seq)
        self._changed()

    def delete(self, record_id: str) -> JSONObject | None:
        record = self._remove(record_id)
        if record is not None:
            self._changed()
        return record

    def newest(self, name: str, value: Any) -> JSONObject | None:
        """The most recently created record whose field `name` equals `value`."""
        for record in self.page([(name, "eq", value)], limit=1)[0]:
            return record
        return None

    def page(
        self, predicates: list[Predicate], limit: int, before: int | None = None
    ) -> tuple[list[JSONObject], bool]:
        """Up to `limit` records matching every predicate, newest first, older than `before`.

        Returns the records and whether more match after them.
        """
        candidates, rest = self._candidates(predicates)
        if candidates is None:
            return [], False
        if before is None:  # the first page: newest first, without irange's bounds checks
            seqs: Iterable[int] = reversed(candidates)
        else:
            seqs = candidates.irange(maximum=before, inclusive=(True, False), reverse=True)
        found: Iterator[JSONObject] = map(
            self._records.__getitem__, map(self._ids.__getitem__, seqs)
        )
        if rest:
            found = filter(matcher(rest), found)
        result: list[JSONObject] = []
        for record in found:
            if len(result) == limit:
                return result, True
            result.append(record)
        return result, False

    def _candidates(self, predicates: list[Predicate]) -> tuple[SortedList | None, list[Predicate]]:
        """The sequence numbers that may match, and the predicates left to test on them: the
        smallest equality index that a predicate names (every record in it meets that
        predicate), else every record; None when such an index has no record of the value."""
        candidates: SortedList = self._order
        met: Predicate | None = None
        for predicate in predicates:
            name, op, value = predicate
            index = self._indexes.get(name)
            if op == "eq" and index is not None:
                found = index.get(value)
                if found is None:
                    return None, []
                if len(found) < len(candidates):
                    candidates, met = found, predicate
        return candidates, [predicate for predicate in predicates if predicate is not met]

    def schedule(self, when: datetime, record_id: str) -> None:
        """Remember that the record may change when the clock reaches `when`."""
        heapq.heappush(self._timers, (when, self._seq.get(record_id, -1), record_id))
        self._changed()

    def due(self, now: datetime) -> list[str]:
        """Ids whose timers have passed, each once."""
        ready: list[str] = []
        while self._timers and self._timers[0][0] <= now:
            ready.append(heapq.heappop(self._timers)[2])
        if ready:
            self._changed()
        return list(dict.fromkeys(ready))

    def dump(self) -> JSONObject:
        """Everything needed to rebuild this collection with `restore`, as JSON values."""
        return {
            "id_field": self.id_field,
            "indexed": list(self.indexed),
            "next": self._next,
            "records": [[seq, self._records[self._ids[seq]]] for seq in self._order],
            "timers": [[when.isoformat(), seq, record_id] for when, seq, record_id in self._timers],
        }

    @classmethod
    def restore(
        cls, dumped: JSONObject, on_change: Callable[[], None] | None = None
    ) -> "MemoryCollection":
        """The collection `dump` described, sequence numbers and timers included."""
        collection = cls(dumped["id_field"], dumped["indexed"], on_change)
        for seq, record in dumped["records"]:
            collection._place(record, seq)
        collection._next = max(collection._next, dumped["next"])
        collection._timers = [
            (datetime.fromisoformat(when), seq, record_id)
            for when, seq, record_id in dumped["timers"]
        ]
        heapq.heapify(collection._timers)
        return collection

    def _place(self, record: JSONObject, seq: int) -> None:
        record_id = record[self.id_field]
        self._next = max(self._next, seq + 1)
        self._records[record_id] = record
        self._seq[record_id] = seq
        self._ids[seq] = record_id
        self._order.add(seq)
        self._index(record, seq)

    def _remove(self, record_id: str) -> JSONObject | None:
        record = self._records.pop(record_id, None)
        if record is None:
            return None
        seq = self._seq.pop(record_id)
        del self._ids[seq]
        self._order.remove(seq)
        self._unindex(record, seq)
        return record

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _index(self, record: JSONObject, seq: int) -> None:
        for name, index in self._indexes.items():
            _index(index, record.get(name), seq)

    def _unindex(self, record: JSONObject, seq: int) -> None:
        for name, index in self._indexes.items():
            _unindex(index, record.get(name), seq)


def _index(index: dict[Any, SortedList], value: Any, seq: int) -> None:
    """Put the record `seq` under its field's `value` in the field's index (None is not kept)."""
    if value is not None:
        bucket = index.get(value)
        if bucket is None:  # a new SortedList only for a new value: one costs microseconds
            bucket = index[value] = SortedList()
        bucket.add(seq)


def _unindex(index: dict[Any, SortedList], value: Any, seq: int) -> None:
    """Take the record `seq` out of the index entry of `value` (an emptied entry goes)."""
    bucket = index.get(value) if value is not None else None
    if bucket is not None:
        bucket.discard(seq)
        if not bucket:
            del index[value]


@dataclass(slots=True)
class LoggedRequest:
    """One entry of the request log; `at` is Unix time, formatted only when the log is read.
    Not changed once logged (a plain slotted class: one is made per request)."""

    at: float
    sandbox: str | None
    api: str
    method: str
    path: str
    query: str
    status: int
    duration_ms: float


class Store(Protocol):
    """Where the mock keeps its state: sandboxes (a clock and collections each), the log.

    A sandbox exists from the first time anything asks for its clock or a collection of it.
    Backends: `InMemoryStore` (this module), `FileStore` (`mockserver.filestore`) and
    `RedisStore` (`mockserver.redisstore`); `mockserver.storeurl.open_store` picks one by URL.
    """

    shared: bool  # whether several processes may serve from this store at once

    def clock(self, sandbox: str) -> MockClock:
        """The sandbox's clock as it is now; change it only through `update_clock`."""
        ...

    def update_clock(self, sandbox: str, change: Callable[[MockClock], None]) -> MockClock:
        """Apply `change` to the sandbox's clock, atomically; returns the clock after it."""
        ...

    def collection(
        self, sandbox: str, key: CollectionKey, id_field: str, indexed: Iterable[str]
    ) -> Collection:
        """The collection of `key` in the sandbox (created empty on first use).

        `indexed` names the fields worth an equality index; it is fixed at creation.
        """
        ...

    def collections(self, sandbox: str) -> list[tuple[CollectionKey, Collection]]:
        """Every collection of the sandbox that was ever written."""
        ...

    def sandboxes(self) -> list[str]: ...

    def reset(self, name: str | None = None) -> None:
        """Forget one sandbox (records and clock), or every sandbox."""
        ...

    def claim_baseline(self) -> bool:
        """True exactly once for a store that has never been set up: the caller then loads
        the start-up fixtures. A store that kept state from an earlier run answers False."""
        ...

    def log(self, entry: LoggedRequest) -> None: ...

    def requests(self, sandbox: str | None = None, limit: int = 100) -> list[LoggedRequest]:
        """The newest `limit` log entries (of one sandbox, or all), oldest first."""
        ...

    def clear_log(self) -> None: ...

    def close(self) -> None:
        """Save what is pending and release connections (at shutdown)."""
        ...


@dataclass
class SandboxState:
    """One sandbox in memory: its clock and its collections."""

    clock: MockClock = field(default_factory=MockClock)
    collections: dict[CollectionKey, MemoryCollection] = field(default_factory=dict)


class InMemoryStore:
    """Every sandbox in process memory, plus a bounded request log.

    `on_change`, when given, is called after every change of a sandbox (not of the log).
    """

    shared = False

    def __init__(self, log_size: int = 1000, on_change: Callable[[], None] | None = None):
        self._sandboxes: dict[str, SandboxState] = {}
        self._log: deque[LoggedRequest] = deque(maxlen=log_size)
        self._on_change = on_change
        self._claimed = False

    def _sandbox(self, name: str) -> SandboxState:
        state = self._sandboxes.get(name)
        if state is None:
            state = self._sandboxes[name] = SandboxState()
        return state

    def clock(self, sandbox: str) -> MockClock:
        return self._sandbox(sandbox).clock

    def update_clock(self, sandbox: str, change: Callable[[MockClock], None]) -> MockClock:
        clock = self._sandbox(sandbox).clock
        change(clock)
        self._changed()
        return clock

    def collection(
        self, sandbox: str, key: CollectionKey, id_field: str, indexed: Iterable[str]
    ) -> MemoryCollection:
        collections = self._sandbox(sandbox).collections
        found = collections.get(key)
        if found is None:
            found = collections[key] = MemoryCollection(id_field, indexed, self._on_change)
        return found

    def collections(self, sandbox: str) -> list[tuple[CollectionKey, Collection]]:
        return list(self._sandbox(sandbox).collections.items())

    def sandboxes(self) -> list[str]:
        return sorted(self._sandboxes)

    def reset(self, name: str | None = None) -> None:
        if name is None:
            self._sandboxes.clear()
        else:
            self._sandboxes.pop(name, None)
        self._changed()

    def claim_baseline(self) -> bool:
        claimed, self._claimed = self._claimed, True
        return not claimed

    def log(self, entry: LoggedRequest) -> None:
        self._log.append(entry)

    def requests(self, sandbox: str | None = None, limit: int = 100) -> list[LoggedRequest]:
        entries = [e for e in self._log if sandbox is None or e.sandbox == sandbox]
        return entries[-limit:]

    def clear_log(self) -> None:
        self._log.clear()

    def close(self) -> None:
        """Nothing to save or release."""

    def dump(self) -> JSONObject:
        """Every sandbox (clock and collections) as JSON values, for `restore`."""
        return {
            name: {
                "clock": dump_clock(state.clock),
                "collections": [
                    {"key": [api, resource, list(partition)], **collection.dump()}
                    for (api, resource, partition), collection in state.collections.items()
                ],
            }
            for name, state in self._sandboxes.items()
        }

    def restore(self, dumped: JSONObject) -> None:
        """Replace every sandbox with those `dump` described; the baseline counts as loaded."""
        self._sandboxes = {}
        for name, state in dumped.items():
            sandbox = self._sandboxes[name] = SandboxState(restore_clock(state["clock"]))
            for entry in state["collections"]:
                api, resource, partition = entry["key"]
                restored = MemoryCollection.restore(entry, self._on_change)
                sandbox.collections[(api, resource, tuple(partition))] = restored
        self._claimed = True

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def dump_clock(clock: MockClock) -> JSONObject:
    """A clock as JSON values: the offset in seconds, the frozen moment (RFC 3339) or null."""
    frozen = clock.frozen_at.isoformat() if clock.frozen_at is not None else None
    return {"offset_seconds": clock.offset.total_seconds(), "frozen_at": frozen}


def restore_clock(dumped: JSONObject) -> MockClock:
    frozen = dumped.get("frozen_at")
    return MockClock(
        offset=timedelta(seconds=dumped["offset_seconds"]),
        frozen_at=datetime.fromisoformat(frozen) if frozen else None,
    )
