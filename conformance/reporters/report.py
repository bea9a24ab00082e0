"""A finished run as one value, for the format writers (JUnit, JSON, HTML)."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from conformance.events import Event, RunFinished, RunStarted
from conformance.requirements import Requirement
from conformance.results import Result, RunVerdict, Verdict, fixable


@dataclass
class Report:
    """What a run checked and found, plus what it takes to replay it."""

    api: str
    base_url: str
    profile: str
    seed: int
    catalogue: tuple[Requirement, ...]
    replay: str = ""
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    results: tuple[Result, ...] = ()
    duration_s: float = 0.0
    error: str | None = None
    notes: tuple[str, ...] = ()
    finished: bool = False
    verdict: RunVerdict = RunVerdict.NOTHING_EXERCISED

    @classmethod
    def from_start(cls, event: RunStarted, replay: str = "") -> "Report":
        return cls(event.api, event.base_url, event.profile, event.seed, event.requirements, replay)

    def finish(self, event: RunFinished) -> None:
        self.results = event.results
        self.duration_s = event.duration_s
        self.error = event.error
        self.notes = event.notes
        self.finished = True
        self.verdict = event.verdict

    @property
    def conformant(self) -> bool:
        return self.finished and self.verdict is RunVerdict.CONFORMANT

    def fixable(self) -> list[Result]:
        """Skipped MUST requirements another option would let a run check."""
        return fixable(self.results)

    def counts(self) -> dict[str, int]:
        counted = Counter(r.verdict.value for r in self.results)
        return {verdict.value: counted.get(verdict.value, 0) for verdict in Verdict}

    def problems(self) -> list[Result]:
        """Failed and errored results, in catalogue order."""
        return [r for r in self.results if r.verdict in (Verdict.FAILED, Verdict.ERROR)]

    def metadata(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "base_url": self.base_url,
            "profile": self.profile,
            "seed": self.seed,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "notes": list(self.notes),
            "conformant": self.conformant,
            "verdict": self.verdict.value,
            "counts": self.counts(),
            "replay": self.replay,
        }


class Collector:
    """A reporter that only gathers the run into a `Report`; file reporters build on it."""

    def __init__(self, replay: str = ""):
        self.replay = replay
        self.report: Report | None = None

    def start(self, event: RunStarted) -> None:
        self.report = Report.from_start(event, self.replay)

    def handle_event(self, event: Event) -> None:
        if isinstance(event, RunFinished) and self.report is not None:
            self.report.finish(event)

    def shutdown(self) -> None:
        return None
