"""The runner: one result per requirement, whatever the layers do."""

import time

from conformance.events import Event, RequirementChecked, RunFinished, RunStarted
from conformance.requirements import build_catalogue
from conformance.results import Result, RunVerdict, Verdict, run_verdict
from conformance.runner import BUDGET_SPENT, NOT_AVAILABLE, STRAY_RESULT, is_conformant, run
from conformance.settings import PROFILES, Settings
from tests.conformance.conftest import QUICK, Served, core_settings, quick_settings


def _collect() -> tuple[list[Event], object]:
    events: list[Event] = []
    return events, events.append


def test_runner_missing_layer_is_skipped(mock: Served) -> None:
    events, emit = _collect()
    target = mock.target("kontorion")
    results = run(target, core_settings(), emit, loader=lambda name: None)  # type: ignore[arg-type]
    assert [r.requirement.id for r in results] == [r.id for r in build_catalogue(target.spec)]
    lifecycle = [r for r in results if r.requirement.layer == "lifecycle"]
    assert lifecycle and all(r.verdict is Verdict.SKIPPED for r in lifecycle)
    assert lifecycle[0].message == NOT_AVAILABLE.format(layer="lifecycle")
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    checked = [e for e in events if isinstance(e, RequirementChecked)]
    assert len(checked) == len(results) == len(build_catalogue(target.spec))


def test_runner_crashing_layer_becomes_errors(mock: Served) -> None:
    def crash(*args: object) -> list[object]:
        raise RuntimeError("boom")

    results = run(mock.target("finx"), quick_settings(), lambda e: None, loader=lambda n: crash)  # type: ignore[arg-type,return-value]
    ran = [r for r in results if r.requirement.layer in QUICK.layers]
    assert ran and all(r.verdict is Verdict.ERROR and "boom" in r.message for r in ran)
    assert not is_conformant(results)


def test_runner_unreachable_server_finishes_with_error(mock: Served) -> None:
    events, emit = _collect()
    target = mock.target("finx")
    unreachable = type(target)(target.spec, "http://127.0.0.1:9/finx", "test_conf", timeout=2.0)
    assert run(unreachable, core_settings(), emit) == []
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.error


def test_runner_spent_budget_skips_remaining_requirements(mock: Served) -> None:
    settings = Settings(PROFILES["security"], 1, budget_s=0.001)
    time.sleep(0.01)
    results = run(mock.target("finx"), settings, lambda e: None)
    security = [r for r in results if r.requirement.layer == "security"]
    assert security and all(
        r.verdict is Verdict.SKIPPED and r.message == BUDGET_SPENT for r in security
    )
    assert run_verdict(results) is RunVerdict.NOTHING_EXERCISED
    assert not is_conformant(results)


def test_runner_stray_result_voids_the_layer(mock: Served) -> None:
    target = mock.target("finx")
    catalogue = build_catalogue(target.spec)
    foreign = next(r for r in catalogue if r.layer == "lifecycle")

    def stray(*args: object) -> list[Result]:
        return [Result(foreign, Verdict.PASSED, cases=1)]

    results = run(target, quick_settings(), lambda e: None, loader=lambda name: stray)
    security = [r for r in results if r.requirement.layer == "security"]
    assert security and all(r.verdict is Verdict.ERROR for r in security)
    assert security[0].message == STRAY_RESULT.format(layer="security", id=foreign.id)
