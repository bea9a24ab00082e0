"""Events the runner emits; reporters turn them into console output and report files."""

from dataclasses import dataclass

from conformance.requirements import Requirement
from conformance.results import Result, RunVerdict, run_verdict


@dataclass(frozen=True)
class RunStarted:
    api: str
    base_url: str
    profile: str
    seed: int
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class LayerStarted:
    api: str
    layer: str
    total: int  # the layer's units of work (operations, scenarios), for a progress bar


@dataclass(frozen=True)
class Progress:
    api: str
    layer: str
    done: int


@dataclass(frozen=True)
class RequirementChecked:
    result: Result


@dataclass(frozen=True)
class RunFinished:
    api: str
    results: tuple[Result, ...]
    duration_s: float
    error: str | None = None  # set when the run could not start (the preflight's problem)
    require_all: bool = False  # the run's gate: a skipped MUST fails it too
    notes: tuple[str, ...] = ()  # what the preflight could not check (conformance.preflight)

    @property
    def verdict(self) -> RunVerdict:
        if self.error is not None:
            return RunVerdict.NOTHING_EXERCISED
        return run_verdict(self.results, require_all=self.require_all)


Event = RunStarted | LayerStarted | Progress | RequirementChecked | RunFinished
