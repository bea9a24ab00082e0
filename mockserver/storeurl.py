"""`--store URL`: which backend keeps the mock's state.

- `memory://` (the default): process memory, gone at exit, one process only;
- `file://PATH`: process memory saved to PATH (see `mockserver.filestore`), one process only;
  `file:///abs/path.json` or `file://relative/path.json`;
- `redis://[:password@]HOST:PORT/DB` (or `rediss://` for TLS): Redis, shared by any number of
  processes (see `mockserver.redisstore`).
"""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from mockserver.filestore import FileStore
from mockserver.store import InMemoryStore, Store, StoreError

DEFAULT_STORE = "memory://"
UNKNOWN_SCHEME = (
    "--store {url!r} is not a store URL: use memory://, file://PATH or redis://HOST:PORT/DB"
)
FILE_WITHOUT_PATH = "--store {url!r} names no file: use file://PATH, e.g. file://mock-state.json"
NOT_SHARED = (
    "--workers {workers} needs a store that several processes can share (redis://HOST:PORT/DB); "
    "{url} keeps the state in one process"
)


def open_store(url: str) -> Store:
    """The store `url` names; raises `StoreError` with the reason when it cannot be opened."""
    scheme = _scheme(url)
    if scheme == "memory":
        return InMemoryStore()
    if scheme == "file":
        return FileStore(_file_path(url))
    # Imported only when used: the redis package takes about 0.2 s to import.
    from mockserver.redisstore import RedisStore  # noqa: PLC0415

    return RedisStore(url)


def check_store_url(url: str, workers: int) -> None:
    """Refuse a URL that names no store, and several worker processes on a store that only
    one process can use, before anything starts; raises `StoreError` with the reason."""
    scheme = _scheme(url)
    if scheme == "file":
        _file_path(url)
    if workers > 1 and scheme not in _SHARED:
        raise StoreError(NOT_SHARED.format(workers=workers, url=url))


_SHARED = ("redis", "rediss")


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in ("memory", "file", *_SHARED):
        raise StoreError(UNKNOWN_SCHEME.format(url=url))
    return scheme


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    path = unquote(parts.netloc + parts.path)
    if not path:
        raise StoreError(FILE_WITHOUT_PATH.format(url=url))
    return Path(path)
