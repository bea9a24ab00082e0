"""Reporters: turn a run's events into console output and report files.

A reporter implements the `Reporter` protocol; `REPORTERS` names the built-in ones, so the CLI
and the pytest plugin pick them by name. Format writers (`write_junit`, `write_json`,
`write_html`) are plain functions over a finished `Report`, apart from event handling.
"""

from collections.abc import Iterable
from typing import Protocol

from conformance.events import Event, RunStarted
from kycspec.registry import Registry


class Reporter(Protocol):
    """Receives the events of one run.

    - `start` gets the `RunStarted` event, before any check runs;
    - `handle_event` gets every later event, in order (`LayerStarted`, `Progress`,
      `RequirementChecked`, `RunFinished`);
    - `shutdown` is called once at the end, also when the run could not complete; file reporters
      write their file here.
    """

    def start(self, event: RunStarted) -> None: ...

    def handle_event(self, event: Event) -> None: ...

    def shutdown(self) -> None: ...


class Broadcast:
    """An `Emit` callable that forwards each event to several reporters."""

    def __init__(self, reporters: Iterable[Reporter]):
        self.reporters = list(reporters)

    def __call__(self, event: Event) -> None:
        for reporter in self.reporters:
            if isinstance(event, RunStarted):
                reporter.start(event)
            else:
                reporter.handle_event(event)

    def shutdown(self) -> None:
        for reporter in self.reporters:
            reporter.shutdown()


REPORTERS: Registry[type] = Registry("reporter")


def _register_builtins() -> None:
    from conformance.reporters.console import ConsoleReporter  # noqa: PLC0415
    from conformance.reporters.files import HtmlReporter, JsonReporter, JUnitReporter  # noqa: PLC0415

    REPORTERS.register("console", ConsoleReporter)
    REPORTERS.register("junit", JUnitReporter)
    REPORTERS.register("json", JsonReporter)
    REPORTERS.register("html", HtmlReporter)


_register_builtins()
