"""`--store URL` and `--workers N`: each store opens, and each mistake gets a clear message."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mockserver import cli, filestore, redisstore, storeurl, workers
from mockserver.filestore import FileStore
from mockserver.redisstore import RedisStore
from mockserver.store import InMemoryStore
from mockserver.testing import free_port


def _serve(*args: str) -> Any:
    return CliRunner().invoke(cli.main, ["serve", "--port", "0", *args])


def test_store_url_opens_each_backend(tmp_path: Path, redis_url: str) -> None:
    assert isinstance(storeurl.open_store("memory://"), InMemoryStore)
    file_store = storeurl.open_store(f"file://{tmp_path}/state.json")
    assert isinstance(file_store, FileStore)
    assert file_store.path == tmp_path / "state.json"
    redis_store = storeurl.open_store(redis_url)
    assert isinstance(redis_store, RedisStore)
    redis_store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--store", "mongodb://x"), storeurl.UNKNOWN_SCHEME.format(url="mongodb://x")),
        (("--store", "file://"), storeurl.FILE_WITHOUT_PATH.format(url="file://")),
        (
            ("--workers", "2"),
            storeurl.NOT_SHARED.format(workers=2, url="memory://"),
        ),
        (
            ("--workers", "2", "--store", "file://state.json"),
            storeurl.NOT_SHARED.format(workers=2, url="file://state.json"),
        ),
    ],
)
def test_store_url_mistakes_exit_with_a_message(
    started: dict[str, Any], args: tuple[str, ...], message: str
) -> None:
    result = _serve(*args)
    assert result.exit_code == 2  # bad arguments, as README says
    assert message in " ".join(result.output.split())
    assert started == {}


def test_store_url_unreachable_redis_exits_with_a_message(started: dict[str, Any]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = _serve("--store", url)
    assert result.exit_code == 1
    assert redisstore.UNREACHABLE.format(url=url, reason="").strip() in result.output
    assert started == {}


def test_store_url_file_that_is_no_store_is_refused(
    tmp_path: Path, started: dict[str, Any]
) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "something-else"}')
    result = _serve("--store", f"file://{path}")
    assert result.exit_code == 1
    expected = filestore.NOT_A_STORE.format(path=path, format="something-else", version=None)
    assert expected in " ".join(result.output.split())
    path.write_text("{not json")
    assert "cannot read the store file" in _serve("--store", f"file://{path}").output


def test_store_url_file_in_a_missing_directory_is_refused(
    tmp_path: Path, started: dict[str, Any]
) -> None:
    path = tmp_path / "missing" / "state.json"
    result = _serve("--store", f"file://{path}")
    assert result.exit_code == 1
    expected = filestore.NO_DIRECTORY.format(path=path, directory=path.parent)
    assert expected in " ".join(result.output.split())


def test_store_url_workers_run_the_worker_factory(redis_url: str, started: dict[str, Any]) -> None:
    result = _serve("--store", redis_url, "--workers", "3")
    assert result.exit_code == 0, result.output
    assert started["app"] == workers.WORKER_FACTORY
    config = workers.WorkerConfig(**json.loads(os.environ[workers.CONFIG_ENV]))
    assert config.store_url == redis_url
    assert started["factory"] is True
    assert started["workers"] == 3


def test_store_url_file_used_by_another_process_is_refused(
    tmp_path: Path, started: dict[str, Any]
) -> None:
    path = tmp_path / "state.json"
    FileStore(path)  # holds the lock, as a running mock would
    result = _serve("--store", f"file://{path}")
    assert result.exit_code == 1
    assert filestore.IN_USE.format(path=path) in " ".join(result.output.split())
