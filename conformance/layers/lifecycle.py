"""The lifecycle layer: a hypothesis state machine per resource, built from its `x-resources`.

For every resource with a create operation, `run_lifecycle` runs `lifecycle_scenarios`
scenarios of up to `lifecycle_steps` steps each (create, read, list, update, transition, delete,
and advancing the clock when the target offers a control plane). A reference model predicts
every answer; each lifecycle requirement gets one verdict per resource: FAILED with the first
violating scenario's request sequence and the seed, PASSED with how often it was exercised, or
SKIPPED with the reason it never was.
"""

from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis.errors import Flaky
from hypothesis.stateful import get_state_machine_test

from conformance.events import LayerStarted, Progress
from conformance.http import TranscriptClient
from conformance.layers.lifecycle_list import filter_unit
from conformance.layers.lifecycle_machine import LifecycleMachine
from conformance.layers.lifecycle_parents import CHECKS as PARENT_CHECKS
from conformance.layers.lifecycle_parents import check_parents
from conformance.layers.lifecycle_plan import BUDGET_SPENT, Plan, Run, build_plan
from conformance.layers.lifecycle_writes import GUARD_OUTCOMES
from conformance.requirements import Requirement
from conformance.results import Result, Verdict
from conformance.settings import Emit, Settings
from conformance.tally import Tally, tally_of
from conformance.target import Target

LAYER = "lifecycle"
NO_CLOCK = "the server offers no clock control (--control-url)"
NO_MAGIC = "the target does not honour the spec's sandbox magic values, which lead to these cases"
# Requirements whose cases the spec's magic values lead to: guards that only a magic value arms,
# records whose filtered fields differ only when made by one.
MAGIC_LED = ("sandbox_magic_values", "guards_enforced", "list_filters_exact")
NO_ADMIN = "its operations are admin-only and no admin token was given (--admin-token)"
NO_CREATE = "the resource has no create operation"
NOT_EXERCISED = "no scenario exercised it ({scenarios} scenarios)"
CRASHED = "the state machine stopped: {error}"


def _requirements(catalogue: list[Requirement], resource: str) -> list[Requirement]:
    return [r for r in catalogue if r.layer == LAYER and r.resource == resource]


def _skip_reason(check: str, plan: Plan | None, run: Run) -> tuple[str, str | None]:
    """Why a requirement may not be (fully) exercised, and the option that would help."""
    target = run.target
    if plan is None:
        return NO_CREATE, None
    if check == "clock_expiry" and not target.control_url:
        return NO_CLOCK, "--control-url"
    magic = any(op.magic for op in (plan.create, *plan.transitions))
    if check in MAGIC_LED and magic and not target.magic:
        return NO_MAGIC, "--magic"
    spec_ops = target.spec.operations_of(plan.resource.name, "transition")
    if not plan.transitions and any(op.admin for op in spec_ops):
        return f"{check}: {NO_ADMIN}", "--admin-token"
    if run.stopped:
        return run.stopped, "--budget" if run.stopped == BUDGET_SPENT else None
    return NOT_EXERCISED.format(scenarios=run.scenario), "--profile full"


def _hypothesis_settings(settings: Settings) -> hypothesis.settings:
    profile = settings.profile
    return hypothesis.settings(
        max_examples=max(1, profile.lifecycle_scenarios),
        stateful_step_count=max(1, profile.lifecycle_steps),
        deadline=None,
        database=None,
        derandomize=False,
        # Rules never raise (a broken requirement ends its scenario quietly), so there is
        # nothing to shrink; generating is the only phase.
        phases=(Phase.generate,),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
        print_blob=False,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )


def _run_machine(plan: Plan, run: Run) -> None:
    def factory() -> LifecycleMachine:
        return LifecycleMachine(plan, run)

    steps = max(1, run.settings.profile.lifecycle_steps)
    test: Any = get_state_machine_test(
        factory,  # type: ignore[arg-type]  # any callable returning a machine will do
        settings=_hypothesis_settings(run.settings),
        _min_steps=max(1, steps // 2),
    )
    hypothesis.seed(run.settings.seed)(test)
    test()


def _results(run: Run, plan: Plan | None) -> list[Result]:
    results = []
    for check, what in run.unconfirmed.values():
        tally = tally_of(run.tallies, check)
        if tally is not None:
            tally.unchecked_part(what)
    for check, tally in run.tallies.items():
        scenarios = len(run.scenarios.get(check, ()))
        if tally.cases and check not in PARENT_CHECKS:  # those run outside the scenarios
            tally.notes.append(f"exercised in {scenarios} of {run.scenario} scenarios")
        if not tally.cases or tally.check.every:
            tally.skip(*_skip_reason(check, plan, run))
        results.append(tally.result(run.settings.seed))
    return results


def run_lifecycle(
    target: Target, catalogue: list[Requirement], settings: Settings, emit: Emit
) -> list[Result]:
    """The lifecycle layer (see `conformance.settings.Layer` for the contract)."""
    spec = target.spec
    resources = [r for r in spec.resources.values() if _requirements(catalogue, r.name)]
    total = settings.profile.lifecycle_scenarios * len(resources)
    emit(LayerStarted(spec.name, LAYER, total))
    results: list[Result] = []
    done = [0]

    def progress() -> None:
        done[0] += 1
        # hypothesis may run a few more scenarios than asked; the bar stops at its total
        emit(Progress(spec.name, LAYER, min(done[0], total)))

    with TranscriptClient(target) as client:
        for resource in resources:
            tallies = {r.check: Tally(r) for r in _requirements(catalogue, resource.name)}
            plan = build_plan(spec, resource, target)
            _expect(tallies, plan)
            run = Run(target, settings, client, tallies, progress)
            if plan is not None:
                try:
                    _run_machine(plan, run)
                except Flaky:
                    # The server answered the same choices differently (it stopped answering,
                    # or a timing edge): hypothesis cannot go on, the verdicts so far stand.
                    pass
                except Exception as exc:  # the machine itself failed: report, never raise
                    results += _crashed(run, exc)
                    continue
                if run.settings.time_left() > 0:
                    check_parents(run, resource)
            results += _results(run, plan)
    return results


def _expect(tallies: dict[str, Tally], plan: Plan | None) -> None:
    """The units the lifecycle requirements about every guard outcome or filter must cover."""
    if "guards_enforced" in tallies:
        for outcome in GUARD_OUTCOMES:
            tallies["guards_enforced"].expect(outcome)
    if "list_filters_exact" in tallies and plan is not None:
        for op in plan.lists:
            for flt in op.filters:
                tallies["list_filters_exact"].expect(filter_unit(op, flt))


def _crashed(run: Run, exc: Exception) -> list[Result]:
    message = CRASHED.format(error=f"{type(exc).__name__}: {exc}")
    results = []
    for tally in run.tallies.values():
        if tally.failures or tally.cases:
            results.append(tally.result(run.settings.seed))
        else:
            results.append(
                Result(tally.requirement, Verdict.ERROR, message, seed=run.settings.seed)
            )
    return results
