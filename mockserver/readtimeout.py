"""How long the mock waits for a request body, and for it once a stop has begun.

Each part of a body must arrive within the read timeout (`serve --read-timeout`, seconds) of the
one before it (of the request head, for the first), as nginx's `client_body_timeout` counts; once
a stop (SIGTERM, CTRL-C) begins, a body still arriving gets `STOP_GRACE_S` seconds more at most.
A body that does not arrive in time is answered `408 Request Timeout` in the vendor's error
envelope (RFC 9110 section 15.5.9) with `Connection: close`, so the connection ends and a stop
never waits on a client that stalls.

The limit holds only while the body is incomplete: once its last part has come, a later
`receive()` (an app waiting for the client to disconnect) waits as long as it likes.
"""

import asyncio
import types
from collections.abc import Awaitable, Generator
from typing import Any

from starlette.types import Message, Receive

from mockserver import errors

DEFAULT_READ_TIMEOUT_S = 30.0
STOP_GRACE_S = 3.0


class ReadTimeout:
    """The read timeout of every request body of one app, and the stop that shortens it."""

    def __init__(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S, grace_s: float = STOP_GRACE_S):
        self.timeout_s = timeout_s
        self.grace_s = grace_s
        self._stop_at: float | None = None  # the event loop's time when stalled reads end
        self._waiting: set[asyncio.Timeout] = set()

    def stop(self) -> None:
        """A stop has begun: every body read ends within `grace_s` from now (call on the event
        loop that serves the requests, as a signal handler added with `add_signal_handler`); a
        second stop keeps the first one's time."""
        if self._stop_at is not None:
            return
        self._stop_at = asyncio.get_running_loop().time() + self.grace_s
        for waiting in self._waiting:
            when = waiting.when()
            if when is None or when > self._stop_at:
                waiting.reschedule(self._stop_at)

    def wrap(self, receive: Receive) -> Receive:
        """`receive` of one request, raising `errors.RequestTimeout` when the body's next part
        does not come within the read timeout (or the stop's grace). A part the server already
        holds (the usual one-message body) is taken at once, with no timer to arm."""
        complete = False

        async def timed() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            deadline = asyncio.get_running_loop().time() + self.timeout_s
            pending = receive().__await__()
            try:
                step = next(pending)
            except StopIteration as done:
                message: Message = done.value
            else:
                try:
                    message = await self._within(deadline, _rest(pending, step))
                except errors.RequestTimeout:
                    complete = True  # answered: a later read waits as long as it likes
                    raise
            complete = not message.get("more_body", False)
            return message

        return timed

    async def _within(self, deadline: float, rest: Awaitable[Message]) -> Message:
        """`rest` of a read, ended by the deadline or the stop's grace (`errors.RequestTimeout`)."""
        if self._stop_at is not None:
            deadline = min(deadline, self._stop_at)
        try:
            async with asyncio.timeout_at(deadline) as waiting:
                self._waiting.add(waiting)
                try:
                    return await rest
                finally:
                    self._waiting.discard(waiting)
        except TimeoutError:
            raise self._timed_out() from None

    def _timed_out(self) -> errors.RequestTimeout:
        if self._stop_at is not None:
            detail = errors.BODY_CUT_BY_STOP.format(seconds=_seconds(self.grace_s))
        else:
            detail = errors.BODY_TIMED_OUT.format(seconds=_seconds(self.timeout_s))
        return errors.RequestTimeout(detail)


@types.coroutine
def _rest(pending: Generator[Any, Any, Message], step: Any) -> Generator[Any, Any, Message]:
    """The rest of an awaitable whose first step was taken and yielded `step` (what the event
    loop waits on): its further steps, with what the loop sends or throws passed on as
    `yield from` passes them (an iterator without `send` or `throw`, as a server's own
    awaitable may be, gets `next` and has the error raised at it)."""
    while True:
        try:
            try:
                sent = yield step
            except BaseException as error:  # a cancel (the timeout's, or the request's end)
                throw = getattr(pending, "throw", None)
                if throw is None:
                    raise
                step = throw(error)
            else:
                step = next(pending) if sent is None else pending.send(sent)
        except StopIteration as done:
            message: Message = done.value
            return message


def _seconds(value: float) -> str:
    return f"{value:g}"
