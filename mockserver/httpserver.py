"""The HTTP server `mockserver serve` runs the app on: Granian (the default) or uvicorn.

Both serve the socket `serve` bound first (`mockserver.listen`), run the app's ASGI lifespan
(start-up before the first request, shutdown after the last), stop gracefully on SIGTERM and
SIGINT (CTRL-C), and call `on_ready` once, when the app has started and the socket accepts
connections. A stop calls `on_stop` first (on the event loop), which lets requests in progress
finish and cuts a request body still coming after a short grace (`mockserver.readtimeout`), so
no client that stalls holds a stop up. What still holds a connection `STOP_TIMEOUT_S` after the
signal (half a request head, say) is cut: uvicorn closes or cancels it, on Granian the mock
shuts the connections down (`_cut_connections`). Granian's supervisor (`--workers N`) kills a
worker still running `WORKERS_KILL_TIMEOUT_S` after the signal.

`read_timeout_s` (`serve --read-timeout`) bounds how long a connection may send nothing: inside a
request body (the app, on both servers), between requests on a kept-alive connection (uvicorn's
`timeout_keep_alive`; Granian's `header_read_timeout`, which also bounds the time to send a whole
request head; uvicorn has no such limit).

Their HTTP parsers refuse a malformed request themselves, before the app sees it, each with its
own plain `400` (or Granian's `414`, `431`; README, "Features and limitations").

Granian (`--server granian`) parses HTTP and writes responses on its own Rust threads, so the
Python thread only runs the app: on a 2-core machine it served 1.5x to 2.2x the requests per
second of uvicorn at a lower p99 and CPU per request (bench/PROFILE.md, "Server and runtime").
One process runs Granian's embedded server on this process's event loop (uvloop); `--workers N`
runs its process supervisor, which forks N workers onto the same socket.

uvicorn (`--server uvicorn`) runs with uvloop and httptools; `--workers N` through its
`Multiprocess` supervisor.
"""

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import stat
from collections.abc import Callable
from typing import Any

import uvicorn
import uvloop
from granian._granian import SocketHolder
from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server as GranianSupervisor
from granian.server.embed import Server as GranianEmbedded
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http import h11_impl, httptools_impl
from uvicorn.supervisors import Multiprocess

from mockserver.listen import AnnouncingServer, bound_port
from mockserver.readtimeout import STOP_GRACE_S
from mockserver.reasons import RFC_9110_NAMES

GRANIAN = "granian"
UVICORN = "uvicorn"
SERVERS = (GRANIAN, UVICORN)
DEFAULT_SERVER = GRANIAN
WORKERS_KILL_TIMEOUT_S = 10  # a worker still running this long after a stop signal is killed
# What still holds a connection this long after a stop signal is cut (uvicorn cancels it, on
# Granian its socket is shut down): a body cut at the grace has had a second to be answered.
STOP_TIMEOUT_S = STOP_GRACE_S + 1
BACKLOG = 2048  # uvicorn's default; pending connections the kernel queues before an accept
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# Granian logs this once for every embedded server; the embedded server is what one process runs.
_EMBEDDED_NOTICE = "Embedded server is experimental!"
# Granian logs to stdout by default; the mock keeps stdout for what a user asks it to print.
_GRANIAN_LOGGING = {
    "handlers": {
        "console": {
            "formatter": "generic",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        },
        "access": {
            "formatter": "access",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        },
    }
}


def serve_app(
    server: str,
    app: ASGIApp,
    sock: socket.socket,
    log_level: str,
    on_ready: Callable[[], Any],
    *,
    read_timeout_s: float,
    on_stop: Callable[[], Any],
) -> None:
    """Serve `app`, already built, in this process on the bound `sock` until a stop signal."""
    if server == UVICORN:
        config = uvicorn.Config(app, **_uvicorn_options(log_level, read_timeout_s))
        AnnouncingServer(config, on_ready, on_stop).run(sockets=[sock])
        return
    embedded = embedded_granian(app, sock, log_level, on_ready, read_timeout_s)
    uvloop.run(_until_signalled(embedded, on_stop, bound_port(sock)))


def embedded_granian(
    app: ASGIApp,
    sock: socket.socket,
    log_level: str,
    on_ready: Callable[[], Any],
    read_timeout_s: float,
) -> GranianEmbedded:
    """Granian serving `app` on this process's event loop on the bound `sock` once its
    `serve()` is awaited; `stop()`, called on that loop, ends it gracefully."""
    sock.listen(BACKLOG)
    options = _granian_options(log_level, sock, read_timeout_s)
    return _BoundEmbedded(sock, _Announcing(app, on_ready), **options)


def serve_workers(
    server: str,
    factory: str,
    workers: int,
    sock: socket.socket,
    log_level: str,
    *,
    read_timeout_s: float,
) -> None:
    """Serve on `workers` processes, each building its own app with `factory` (an import
    path `module:function`), sharing the bound `sock`; this process only supervises them."""
    if server == UVICORN:
        config = uvicorn.Config(
            factory, factory=True, workers=workers, **_uvicorn_options(log_level, read_timeout_s)
        )
        Multiprocess(config, sockets=[sock]).run()
        return
    sock.listen(BACKLOG)
    # Each worker serves a copy of the socket's descriptor, which only a forked child inherits.
    multiprocessing.set_start_method("fork", force=True)
    # A worker forked just before a stop signal can miss it (it still holds the supervisor's
    # handler), and Granian would otherwise wait for it forever: it is killed after a grace time.
    supervisor = _BoundSupervisor(
        sock,
        factory,
        factory=True,
        workers=workers,
        workers_kill_timeout=WORKERS_KILL_TIMEOUT_S,
        **_granian_options(log_level, sock, read_timeout_s),
    )
    supervisor.serve()


def _uvicorn_options(log_level: str, read_timeout_s: float) -> dict[str, Any]:
    return {
        "timeout_keep_alive": read_timeout_s,
        "timeout_graceful_shutdown": STOP_TIMEOUT_S,
        "log_level": log_level,
        "access_log": False,
        "loop": "auto",  # uvloop where installed
        "http": "auto",  # httptools where installed
        "lifespan": "on",
        "backlog": BACKLOG,
    }


def _granian_options(log_level: str, sock: socket.socket, read_timeout_s: float) -> dict[str, Any]:
    host, port = sock.getsockname()[:2]
    return {
        "http1_settings": HTTP1Settings(header_read_timeout=round(read_timeout_s * 1000)),
        "address": host,
        "port": port,
        "interface": Interfaces.ASGI,
        "http": HTTPModes.http1,
        "websockets": False,
        "backlog": BACKLOG,
        "log_level": LogLevels(log_level),
        "log_dictconfig": _GRANIAN_LOGGING,
        "log_access": False,
    }


class _Announcing:
    """The app, calling `on_ready` once its lifespan start-up has completed (Granian accepts
    connections right after)."""

    def __init__(self, app: ASGIApp, on_ready: Callable[[], Any]):
        self.app = app
        self.on_ready = on_ready

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def announcing_send(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                self.on_ready()

        await self.app(scope, receive, announcing_send)


class _DropEmbeddedNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _EMBEDDED_NOTICE


logging.getLogger("_granian").addFilter(_DropEmbeddedNotice())


class _BoundEmbedded(GranianEmbedded):
    """Granian's embedded server on a socket bound and listening already."""

    def __init__(self, sock: socket.socket, target: ASGIApp, **options: Any):
        super().__init__(target, **options)
        self.sock = sock

    def _init_shared_socket(self) -> None:
        self._ssp, self._shd = None, _holder(self.sock)  # type: ignore[assignment]


class _BoundSupervisor(GranianSupervisor):  # type: ignore[misc,valid-type]
    """Granian's worker supervisor on a socket bound and listening already (the workers,
    forked, inherit it)."""

    def __init__(self, sock: socket.socket, target: str, **options: Any):
        super().__init__(target, loop=Loops.uvloop, **options)
        self.sock = sock

    def _init_shared_socket(self) -> None:
        self._ssp, self._shd = None, _holder(self.sock)
        self._sso = None  # the socket object it passes to spawned (not forked) workers


def _use_rfc_9110_reasons() -> None:
    """uvicorn writes its status lines from tables of Python's `http.HTTPStatus` phrases, built
    at import; the statuses RFC 9110 renamed get their RFC 9110 phrase (`mockserver.reasons`).
    Granian's status lines come from Rust's `http` crate (README, "HTTP servers")."""
    for status, name in RFC_9110_NAMES.items():
        phrase = name.encode()
        h11_impl.STATUS_PHRASES[status] = phrase
        httptools_impl.STATUS_LINE[status] = b"HTTP/1.1 %d %s\r\n" % (status, phrase)


_use_rfc_9110_reasons()


def _holder(sock: socket.socket) -> SocketHolder:
    """The socket as Granian takes it: a descriptor of its own, which it closes when it stops."""
    # The stub lists no arguments; the extension takes (fd, is_uds, backlog), as granian.net
    # pickles it.
    return SocketHolder(os.dup(sock.fileno()), False, BACKLOG)  # type: ignore[call-arg]


async def _until_signalled(server: GranianEmbedded, on_stop: Callable[[], Any], port: int) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully (lifespan shutdown included);
    connections still open `STOP_TIMEOUT_S` after the signal are cut."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        on_stop()
        server.stop()
        loop.call_later(STOP_TIMEOUT_S, _cut_connections, port)

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop)
    await server.serve()


def _cut_connections(port: int) -> None:
    """Shut down every connection this process accepted on `port`.

    Granian's stop waits for each open connection to end, and one that has sent half a request
    head ends only at its `header_read_timeout`; Granian offers no way to close connections at
    a stop, so the mock shuts their sockets down (found in /proc/self/fd; a shutdown acts on the
    socket, whichever descriptor it goes through), and Granian sees them end.
    """
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # no /proc: Granian's header_read_timeout ends them
        return
    for name in names:
        with contextlib.suppress(OSError):  # closed meanwhile, or not a connection
            _cut(int(name), port)


def _cut(descriptor: int, port: int) -> None:
    if not stat.S_ISSOCK(os.fstat(descriptor).st_mode):
        return
    with socket.socket(fileno=os.dup(descriptor)) as connection:
        tcp = connection.family in (socket.AF_INET, socket.AF_INET6)
        tcp = tcp and connection.type == socket.SOCK_STREAM
        # a connection accepted on `port` (the listening socket has no peer: OSError)
        if tcp and connection.getsockname()[1] == port and connection.getpeername():
            connection.shutdown(socket.SHUT_RDWR)
