"""The runner: one conformance run of one target, as a stream of events.

It owns the guarantees reporters rely on: every requirement of the catalogue gets exactly one
Result (SKIPPED with a reason when its layer is not in the profile, is not installed, or the
budget ran out), a layer that crashes yields ERROR results instead of a traceback, and a run the
preflight refuses (server unreachable or not serving the spec, a token refused, a silent control
plane; see `conformance.preflight`) ends with `RunFinished(error=...)` before any check.

When the server stops answering mid-run (`conformance.watch`), what was left to check is an
ERROR, not a FAILED: a requirement of the layer that was running is kept FAILED only when its
evidence predates the stop, and the layers after it are not run at all.
"""

import importlib
import time
from collections.abc import Callable
from dataclasses import replace

from conformance.events import RequirementChecked, RunFinished, RunStarted
from conformance.preflight import preflight
from conformance.requirements import LAYERS, Requirement, build_catalogue
from conformance.results import Result, RunVerdict, Verdict, run_verdict
from conformance.settings import Emit, Layer, Settings
from conformance.target import Target
from conformance.watch import DOWN

# Layers by name, as "module:function"; imported when a run needs them, so a layer that is not
# installed (yet) costs only its own requirements.
LAYER_FUNCTIONS = {
    "schema": "conformance.layers.schema:run_schema",
    "lifecycle": "conformance.layers.lifecycle:run_lifecycle",
    "security": "conformance.layers.security:run_security",
    "robustness": "conformance.layers.robustness:run_robustness",
    "webhooks": "conformance.layers.webhooks:run_webhooks",
}
NOT_IN_PROFILE = "not in profile {profile}"
FULL_PROFILE = "--profile full"
NOT_AVAILABLE = "{layer} layer not available"
BUDGET_SPENT = "budget spent"
SERVER_STOPPED = (
    "{what}: the server stopped answering {after:.1f} s into the run "
    "({first} got {error}; a new connection was refused too)"
)
NOT_CHECKED = "not checked"
NOT_FULLY_CHECKED = "not fully checked ({cases} case(s) ran)"
LAYER_CRASHED = "the {layer} layer stopped unexpectedly: {error}"
STATELESS_LIFECYCLE = (
    "the document declares no x- extensions (a stateless API); add them (specs/README.md) or "
    "run with --infer to check the lifecycle REST conventions imply"
)
NOT_REPORTED = "the {layer} layer reported no verdict for this requirement"
STRAY_RESULT = "the {layer} layer reported a stray verdict (for {id}); its verdicts are void"


def load_layer(name: str) -> Layer | None:
    """The layer function, or None when its module is not installed."""
    module_name, _, function = LAYER_FUNCTIONS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    layer: Layer = getattr(module, function)
    return layer


def run(
    target: Target,
    settings: Settings,
    emit: Emit,
    *,
    loader: Callable[[str], Layer | None] = load_layer,
) -> list[Result]:
    """Run the profile's layers against the target; emits events, returns one Result each."""
    started = time.monotonic()
    catalogue = build_catalogue(target.spec)
    emit(
        RunStarted(
            target.api,
            target.base_url,
            settings.profile.name,
            settings.seed,
            tuple(catalogue),
        )
    )
    target, problem, notes = preflight(target)
    if problem is not None:
        emit(RunFinished(target.api, (), time.monotonic() - started, str(problem), notes=notes))
        return []
    results: list[Result] = []
    for layer in LAYERS:
        layer_started = time.monotonic()
        layer_results = _run_layer(layer, target, catalogue, settings, emit, loader)
        for result in _timed(layer_results, time.monotonic() - layer_started):
            results.append(result)
            emit(RequirementChecked(result))
    order = {r.id: i for i, r in enumerate(catalogue)}
    results.sort(key=lambda r: order[r.requirement.id])
    duration = time.monotonic() - started
    emit(
        RunFinished(
            target.api, tuple(results), duration, require_all=settings.require_all, notes=notes
        )
    )
    return results


def _run_layer(
    layer: str,
    target: Target,
    catalogue: list[Requirement],
    settings: Settings,
    emit: Emit,
    loader: Callable[[str], Layer | None],
) -> list[Result]:
    own = [r for r in catalogue if r.layer == layer]
    if not own:
        return []
    if layer == "lifecycle" and not target.spec.stateful:
        return _all(own, Verdict.SKIPPED, STATELESS_LIFECYCLE)
    if layer not in settings.profile.layers:
        message = NOT_IN_PROFILE.format(profile=settings.profile.name)
        return _all(own, Verdict.SKIPPED, message, fix=FULL_PROFILE)
    if target.watch.down is not None:
        return [_stopped(Result(r, Verdict.ERROR), target) for r in own]
    if settings.time_left() <= 0:
        return _all(own, Verdict.SKIPPED, BUDGET_SPENT, fix="--budget")
    try:
        function = loader(layer)
        if function is None:
            return _all(own, Verdict.SKIPPED, NOT_AVAILABLE.format(layer=layer))
        reported = function(target, catalogue, settings, emit)
    except Exception as exc:  # a broken layer must not take the run (or the report) with it
        message = LAYER_CRASHED.format(layer=layer, error=f"{type(exc).__name__}: {exc}")
        return _all(own, Verdict.ERROR, message, settings.seed)
    results = _complete(layer, own, reported)
    if target.watch.down is None:
        return results
    return [r if _failed_before_stop(r) else _stopped(r, target) for r in results]


def _complete(layer: str, own: list[Requirement], reported: list[Result]) -> list[Result]:
    """Exactly one result per requirement of the layer, in catalogue order.

    A result for a requirement the layer does not own (or a second one for the same) is a
    bug in the layer: every requirement of the layer is ERROR then, never silently dropped.
    """
    by_id: dict[str, Result] = {}
    known = {r.id: r for r in own}
    for result in reported:
        rid = result.requirement.id
        if known.get(rid) != result.requirement or rid in by_id:
            return _all(own, Verdict.ERROR, STRAY_RESULT.format(layer=layer, id=rid))
        by_id[rid] = result
    return [
        by_id.get(r.id) or Result(r, Verdict.SKIPPED, NOT_REPORTED.format(layer=layer)) for r in own
    ]


def _timed(results: list[Result], seconds: float) -> list[Result]:
    """Each result with its share of the layer's time, in proportion to the cases that
    exercised it (a layer checks many requirements with one request, so this is the honest
    split: the shares add up to the layer's time)."""
    cases = sum(r.cases for r in results)
    if not cases:
        return results
    return [replace(r, duration_s=seconds * r.cases / cases) for r in results]


def _failed_before_stop(result: Result) -> bool:
    """A failure (or layer error) whose evidence the server gave before it stopped answering."""
    if result.verdict is Verdict.ERROR:
        return True
    return result.verdict is Verdict.FAILED and not any(
        exchange.outage == DOWN for exchange in result.exchanges
    )


def _stopped(result: Result, target: Target) -> Result:
    """ERROR: the requirement could not be (fully) checked, with the request that showed why."""
    watch = target.watch
    down, down_at = watch.down, watch.down_at or watch.started
    what = NOT_FULLY_CHECKED.format(cases=result.cases) if result.cases else NOT_CHECKED
    message = SERVER_STOPPED.format(
        what=what,
        after=down_at - watch.started,
        first=f"{down.method} {down.url}" if down else "a request",
        error=down.error if down else "no answer",
    )
    evidence = (down,) if down else ()
    return Result(result.requirement, Verdict.ERROR, message, evidence, result.seed, result.cases)


def _all(
    requirements: list[Requirement],
    verdict: Verdict,
    message: str,
    seed: int | None = None,
    fix: str | None = None,
) -> list[Result]:
    return [Result(r, verdict, message, seed=seed, fix=fix) for r in requirements]


def is_conformant(results: list[Result] | tuple[Result, ...], *, require_all: bool = False) -> bool:
    """No MUST requirement failed or errored (SHOULD failures are reported, not fatal), and
    at least one MUST passed; with `require_all`, none was skipped either."""
    return run_verdict(results, require_all=require_all) is RunVerdict.CONFORMANT
