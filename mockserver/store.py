"""In-memory state: sandboxes of collections of records, indexed so pages never scan.

All access happens on the event loop thread and no method awaits, so every operation is
atomic with respect to concurrent requests.
"""

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
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


class Collection:
    """The records of one resource in one sandbox partition.

    Records keep their insertion sequence number; pages run newest first over a sorted index
    of those numbers, or over a smaller per-value index when an equality filter has one.
    """

    def __init__(self, id_field: str, indexed: Iterable[str] = ()):
        self.id_field = id_field
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
            self.delete(record_id)
        seq = self._next
        self._next += 1
        self._records[record_id] = record
        self._seq[record_id] = seq
        self._ids[seq] = record_id
        self._order.add(seq)
        self._index(record, seq)

    def replace(self, record: JSONObject) -> None:
        """Store a changed version of an existing record (same id, same place in the order)."""
        record_id = record[self.id_field]
        seq = self._seq[record_id]
        self._unindex(self._records[record_id], seq)
        self._records[record_id] = record
        self._index(record, seq)

    def delete(self, record_id: str) -> JSONObject | None:
        record = self._records.pop(record_id, None)
        if record is None:
            return None
        seq = self._seq.pop(record_id)
        del self._ids[seq]
        self._order.remove(seq)
        self._unindex(record, seq)
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
        checks = [(name, _OPS[op], value) for name, op, value in predicates]
        candidates = self._order
        for name, op, value in predicates:
            index = self._indexes.get(name)
            if op == "eq" and index is not None:
                found = index.get(value)
                if found is None:
                    return [], False
                if len(found) < len(candidates):
                    candidates = found
        seqs = candidates.irange(maximum=before, inclusive=(True, False), reverse=True)
        result: list[JSONObject] = []
        for seq in seqs:
            record = self._records[self._ids[seq]]
            if all(check(record.get(name), value) for name, check, value in checks):
                if len(result) == limit:
                    return result, True
                result.append(record)
        return result, False

    def schedule(self, when: datetime, record_id: str) -> None:
        """Remember that the record may change when the clock reaches `when`."""
        heapq.heappush(self._timers, (when, self._seq.get(record_id, -1), record_id))

    def due(self, now: datetime) -> list[str]:
        """Ids whose timers have passed, each once."""
        ready: list[str] = []
        while self._timers and self._timers[0][0] <= now:
            ready.append(heapq.heappop(self._timers)[2])
        return list(dict.fromkeys(ready))

    def _index(self, record: JSONObject, seq: int) -> None:
        for name, index in self._indexes.items():
            value = record.get(name)
            if value is not None:
                index.setdefault(value, SortedList()).add(seq)

    def _unindex(self, record: JSONObject, seq: int) -> None:
        for name, index in self._indexes.items():
            value = record.get(name)
            bucket = index.get(value) if value is not None else None
            if bucket is not None:
                bucket.discard(seq)
                if not bucket:
                    del index[value]


@dataclass
class SandboxState:
    """One sandbox: its clock and its collections."""

    clock: MockClock = field(default_factory=MockClock)
    collections: dict[CollectionKey, Collection] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRequest:
    """One entry of the request log; `at` is Unix time, formatted only when the log is read."""

    at: float
    sandbox: str | None
    api: str
    method: str
    path: str
    query: str
    status: int
    duration_ms: float


class Store(Protocol):
    """Where the mock keeps its state. `InMemoryStore` is the one backend."""

    def sandbox(self, name: str) -> SandboxState: ...

    def sandboxes(self) -> list[str]: ...

    def reset(self, name: str | None = None) -> None: ...

    def log(self, entry: LoggedRequest) -> None: ...

    def requests(self, sandbox: str | None = None, limit: int = 100) -> list[LoggedRequest]: ...

    def clear_log(self) -> None: ...


class InMemoryStore:
    """Every sandbox in process memory, plus a bounded request log."""

    def __init__(self, log_size: int = 1000):
        self._sandboxes: dict[str, SandboxState] = {}
        self._log: deque[LoggedRequest] = deque(maxlen=log_size)

    def sandbox(self, name: str) -> SandboxState:
        state = self._sandboxes.get(name)
        if state is None:
            state = self._sandboxes[name] = SandboxState()
        return state

    def sandboxes(self) -> list[str]:
        return sorted(self._sandboxes)

    def reset(self, name: str | None = None) -> None:
        if name is None:
            self._sandboxes.clear()
        else:
            self._sandboxes.pop(name, None)

    def log(self, entry: LoggedRequest) -> None:
        self._log.append(entry)

    def requests(self, sandbox: str | None = None, limit: int = 100) -> list[LoggedRequest]:
        entries = [e for e in self._log if sandbox is None or e.sandbox == sandbox]
        return entries[-limit:]

    def clear_log(self) -> None:
        self._log.clear()
