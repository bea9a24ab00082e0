"""The shipped test harness: serves an app, and always stops it."""

import httpx
import pytest

from mockserver.httpserver import SERVERS
from mockserver.testing import serve_in_thread


async def _hello(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.mark.parametrize("server", SERVERS)
def test_serve_in_thread_serves_then_stops(server: str) -> None:
    with serve_in_thread(_hello, server=server) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url).text == "hello"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1)
