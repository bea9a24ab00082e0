"""Reporters that write a report file when the run is over."""

from collections.abc import Callable
from pathlib import Path

from conformance.reporters.html import write_html
from conformance.reporters.json_report import write_json
from conformance.reporters.junit import write_junit
from conformance.reporters.report import Collector, Report


class FileReporter(Collector):
    """Collects the run and writes one file at shutdown (even for a run that could not start)."""

    writer: Callable[[Report], str]

    def __init__(self, path: str | Path, replay: str = ""):
        super().__init__(replay)
        self.path = Path(path)

    def shutdown(self) -> None:
        if self.report is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(type(self).writer(self.report), encoding="utf-8")


class JUnitReporter(FileReporter):
    writer = staticmethod(write_junit)


class JsonReporter(FileReporter):
    writer = staticmethod(write_json)


class HtmlReporter(FileReporter):
    writer = staticmethod(write_html)
