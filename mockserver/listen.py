"""The listening socket, bound before anything else, and uvicorn serving on it.

Binding first makes a busy port a clear error at once (not after start-up), gives the real port
of `--port 0` for every printed URL, and lets `serve --detach` hand the socket to the server it
starts.
"""

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` (port 0: any free port), not listening yet.

    Raises `OSError` when the address cannot be bound (EADDRINUSE for a busy port, EADDRNOTAVAIL
    or a resolution error for a host that is not this machine's).
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        # As uvicorn does: a restarted mock can take its port back while old connections linger
        # in TIME_WAIT; on Linux this never lets two servers listen on one port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def bound_port(sock: socket.socket) -> int:
    """The port the socket is bound to (the one the system chose, for port 0)."""
    return int(sock.getsockname()[1])


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, calling `on_ready` once it accepts connections (and only then), and
    `on_stop`, on its event loop, when a stop signal comes."""

    def __init__(
        self, config: uvicorn.Config, on_ready: Callable[[], Any], on_stop: Callable[[], Any]
    ):
        super().__init__(config)
        self.on_ready = on_ready
        self.on_stop = on_stop
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: it interrupts the event loop, so `on_stop` runs as the loop's next
        # callback.
        if self._loop is not None and not self.should_exit:
            self._loop.call_soon_threadsafe(self.on_stop)
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's, except that a stop signal (SIGTERM, SIGINT) it has served by shutting down
        gracefully is not raised again afterwards, so `serve` exits 0 after a graceful stop on
        either HTTP server, as Granian does (uvicorn alone dies of the signal: 143 or
        click's "Aborted!" and 1, depending on when the signal lands)."""
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self.on_ready()
