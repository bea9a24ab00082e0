"""`file://PATH`: the in-memory store, saved to a JSON file and loaded from it at start.

Every change marks the store dirty; the first change after a save schedules the next save
`SAVE_DELAY_S` later on the event loop, so a burst of writes costs one save and a crash
(`kill -9` included) loses at most the writes of that last second. Shutdown saves at once.
A save serialises every sandbox (records, sequence numbers, timers, clocks) on the event
loop, then writes a temporary file next to PATH, fsyncs it and renames it over PATH (POSIX
`rename` is atomic), so PATH always holds one complete snapshot. The request log is not saved.

One process only: two processes saving one file would overwrite each other's writes, so the
store holds an exclusive lock (`flock`) on PATH + `.lock` while open, and a second process is
refused at start. The kernel drops the lock when the process ends, `kill -9` included.
"""

import asyncio
import fcntl
import logging
import os
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import orjson

from kycspec.types import JSONObject
from mockserver.store import InMemoryStore, StoreError

logger = logging.getLogger("mockserver")
SAVE_DELAY_S = 1.0
FORMAT = "kyc-contracts-store"
VERSION = 1
UNREADABLE = "cannot read the store file {path}: {reason}"
NOT_A_STORE = "{path} is not a kyc-contracts store file (format {format} version {version})"
SAVE_FAILED = "could not save the store file; the next change tries again"
IN_USE = (
    "another mock process keeps its state in {path}; a file store serves one process "
    "(share state between processes with redis://)"
)
NO_DIRECTORY = "cannot keep the store in {path}: {directory} is not a writable directory"


class FileStore(InMemoryStore):
    """An `InMemoryStore` kept in `path` (see the module docstring for when it is saved)."""

    def __init__(self, path: Path, *, save_delay: float = SAVE_DELAY_S, log_size: int = 1000):
        super().__init__(log_size, on_change=self._dirty)
        self.path = path
        self.save_delay = save_delay
        directory = path.parent
        if not directory.is_dir() or not os.access(directory, os.W_OK):
            raise StoreError(NO_DIRECTORY.format(path=path, directory=directory))
        lock = _locked(path.with_name(path.name + ".lock"), path)
        try:
            if path.exists():
                self.restore(_read(path)["sandboxes"])
        except StoreError:
            lock.close()
            raise
        # The lock file stays open (locked) as long as the store object lives.
        weakref.finalize(self, lock.close)
        self._pending = False  # changes not in any save yet
        self._timer: asyncio.TimerHandle | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-file")

    def close(self) -> None:
        """Save pending changes now, after any save under way. The store stays usable."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        saving = self._writer.submit(self._write, self._snapshot()) if self._pending else None
        self._writer.submit(lambda: None).result()  # every save submitted so far is done
        if saving is not None:
            saving.result()  # raises what the write raised

    def _dirty(self) -> None:
        self._pending = True
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # start-up: the first change on the loop, or shutdown, saves it
        self._timer = loop.call_later(self.save_delay, self._save_in_background)

    def _save_in_background(self) -> None:
        self._timer = None
        self._writer.submit(self._write, self._snapshot()).add_done_callback(_report)

    def _snapshot(self) -> bytes:
        self._pending = False
        return orjson.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "saved_at": datetime.now(UTC).isoformat(),
                "sandboxes": self.dump(),
            }
        )

    def _write(self, data: bytes) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)


def _locked(lock: Path, path: Path) -> BinaryIO:
    """The open lock file, locked for this process; `StoreError` when another holds it."""
    file = lock.open("ab")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise StoreError(IN_USE.format(path=path)) from None
    return file


def _report(saved: Future[None]) -> None:
    error = saved.exception()
    if error is not None:
        logger.error(SAVE_FAILED, exc_info=error)


def _read(path: Path) -> JSONObject:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise StoreError(UNREADABLE.format(path=path, reason=exc)) from exc
    if not isinstance(document, dict) or (document.get("format"), document.get("version")) != (
        FORMAT,
        VERSION,
    ):
        found = document if isinstance(document, dict) else {}
        raise StoreError(
            NOT_A_STORE.format(path=path, format=found.get("format"), version=found.get("version"))
        )
    return document
