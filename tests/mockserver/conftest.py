"""Shared fixtures: an in-process client (responses validated against the specs) and a live server.

`client` drives the app through starlette's TestClient; every response it gets back has been
checked against the spec, so a response that breaks its schema shows up as a 500. `live_server`
runs the same app under uvicorn on a free local port, for the real `curl` binary and for
concurrent clients.
"""

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import cli
from mockserver.app import MockApp, create_app
from mockserver.filestore import FileStore
from mockserver.redisstore import RedisStore
from mockserver.testing import serve_in_thread
from tests.redisserver import flush, running_redis

FINX = "/finx/v1"
KONTORION = "/kontorion/v1"
FINHUB = "/finhub/api/v2.1"
CONTROL = "/__mock"

FINX_RESOURCES = ("customer-verifications", "kyc")
FINX_CUSTOMER = "WAz8eIbvDR60rouK"
KONTORION_CUSTOMER = "3f1c2b8e-6a4d-4f5e-9b7a-2c8d1e0f4a6b"

FINX_ID = re.compile(r"^[A-Za-z0-9]{16}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
FINHUB_ID = re.compile(r"^ver_[a-z0-9]{12}$")
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def bearer(token: str, **extra: str) -> dict[str, str]:
    """An Authorization header, plus any extra headers."""
    return {"Authorization": f"Bearer {token}", **extra}


def finhub_headers(token: str, tenant: str = "t1", **extra: str) -> dict[str, str]:
    """The headers every FinHub call needs (initiate's compliance headers included)."""
    return bearer(
        token,
        **{
            "X-Tenant-ID": tenant,
            "X-Forwarded-For": "192.0.2.10",
            "User-Agent": "kyc-tests/1.0",
            **extra,
        },
    )


def finx_body(**fields: str) -> dict[str, str]:
    """A valid FinX create body (the documented one), with fields overridden."""
    return {
        "customer_id": FINX_CUSTOMER,
        "verification_status": "pending",
        "document_type": "passport",
        "document_number": "123456789",
        **fields,
    }


def kontorion_body(**fields: str) -> dict[str, str]:
    """A valid Kontorion create body; provider `acme` is no magic provider (stays pending)."""
    return {
        "check_type": "document",
        "customer_id": KONTORION_CUSTOMER,
        "provider": "acme",
        "verification_type": "kyc",
        **fields,
    }


def set_clock(client: Any, sandbox: str, now: str, *, frozen: bool = True) -> None:
    response = client.put(
        f"{CONTROL}/sandboxes/{sandbox}/clock", json={"now": now, "frozen": frozen}
    )
    assert response.status_code == 200, response.text


def advance_clock(client: Any, sandbox: str, seconds: int) -> None:
    response = client.post(
        f"{CONTROL}/sandboxes/{sandbox}/clock/advance", json={"seconds": seconds}
    )
    assert response.status_code == 200, response.text


def finhub_initiate(client: Any, token: str, customer: str, tenant: str = "t1") -> str:
    """Initiate a FinHub verification; returns its id."""
    response = client.post(
        f"{FINHUB}/customer/individual/{customer}/verification/initiate",
        headers=finhub_headers(token, tenant),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["verificationId"])


def finhub_submit(
    client: Any, token: str, customer: str, tenant: str = "t1", number: str = "AB123456"
) -> Any:
    return client.post(
        f"{FINHUB}/customer/individual/{customer}/verification",
        headers=finhub_headers(token, tenant),
        json={
            "verificationType": "STANDARD",
            "verificationData": {"documentType": "PASSPORT", "documentNumber": number},
        },
    )


def finhub_upload(client: Any, token: str, vid: str, kind: str, tenant: str = "t1") -> Any:
    return client.post(
        f"{FINHUB}/verifications/{vid}/documents",
        headers=finhub_headers(token, tenant),
        data={"documentType": kind},
        files={"file": (f"{kind.lower()}.png", b"fake-scan", "image/png")},
    )


@pytest.fixture(scope="session")
def memory_app() -> MockApp:
    """One app for the session (building one takes a few hundred milliseconds)."""
    return create_app(validate_responses=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the session (skipped where it is not installed)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def file_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockApp]:
    """The mock on a `file://` store."""
    store = FileStore(tmp_path_factory.mktemp("file-store") / "state.json")
    yield create_app(validate_responses=True, store=store)
    store.close()


@pytest.fixture(scope="session")
def redis_app(redis_url: str) -> Iterator[MockApp]:
    """The mock on a `redis://` store."""
    flush(redis_url)
    store = RedisStore(redis_url)
    yield create_app(validate_responses=True, store=store)
    store.close()


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """Which store `client` uses: memory, unless the module lists `STORE_BACKENDS`."""
    return str(getattr(request, "param", "memory"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module with `STORE_BACKENDS = ("memory", "file", "redis")` runs once per store."""
    backends = getattr(metafunc.module, "STORE_BACKENDS", None)
    if backends and "store_backend" in metafunc.fixturenames:
        metafunc.parametrize("store_backend", backends, indirect=True)


@pytest.fixture
def client(request: pytest.FixtureRequest, store_backend: str) -> Iterator[TestClient]:
    """A client of a mock in its start-up state: every sandbox reset, the request log empty."""
    app: MockApp = request.getfixturevalue(f"{store_backend}_app")
    app.server.reset()
    app.server.store.clear_log()
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class LiveServer:
    """A running mock: its base URL and the app object behind it."""

    url: str
    app: Any


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    app = create_app(validate_responses=True)
    with serve_in_thread(app) as url:
        yield LiveServer(url, app)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stops `mockserver serve` where the HTTP server would start serving (one process, or a
    supervisor of workers), keeping the server's name, the app, the bound address and the
    workers' settings; the start banner is printed as once the server is ready."""
    seen: dict[str, Any] = {}

    def serve_app(
        server: str, app: Any, sock: socket.socket, log_level: str, on_ready: Any, **options: Any
    ) -> None:
        seen.update(server=server, app=app, address=sock.getsockname(), **options)
        sock.close()
        on_ready()  # what a server that started would print (the banner)

    def serve_workers(
        server: str,
        factory: str,
        workers: int,
        sock: socket.socket,
        log_level: str,
        **options: Any,
    ) -> None:
        seen.update(server=server, app=factory, factory=True, workers=workers, **options)
        sock.close()

    monkeypatch.setattr(cli, "serve_app", serve_app)
    monkeypatch.setattr(cli, "serve_workers", serve_workers)
    return seen
