"""The runner: one conformance run of one target, as a stream of events.

It owns the guarantees reporters rely on: every requirement of the catalogue gets exactly one
Result (SKIPPED with a reason when its layer is not in the profile, is not installed, or the
budget ran out), a layer that crashes yields ERROR results instead of a traceback, and a target
that cannot be reached ends the run with `RunFinished(error=...)` before any check.
"""

import importlib
import time
from collections.abc import Callable

from conformance.events import RequirementChecked, RunFinished, RunStarted
from conformance.http import TranscriptClient
from conformance.requirements import LAYERS, Requirement, build_catalogue
from conformance.results import Result, Verdict, is_blocking
from conformance.settings import Emit, Layer, Settings
from conformance.target import Target

# Layers by name, as "module:function"; imported when a run needs them, so a layer that is not
# installed (yet) costs only its own requirements.
LAYER_FUNCTIONS = {
    "schema": "conformance.layers.schema:run_schema",
    "lifecycle": "conformance.layers.lifecycle:run_lifecycle",
    "security": "conformance.layers.security:run_security",
}
UNREACHABLE = "cannot reach {url}: {error}"
NOT_IN_PROFILE = "not in profile {profile}"
NOT_AVAILABLE = "{layer} layer not available"
BUDGET_SPENT = "budget spent"
LAYER_CRASHED = "the {layer} layer stopped unexpectedly: {error}"
NOT_REPORTED = "the {layer} layer reported no verdict for this requirement"


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


def check_reachable(target: Target) -> str | None:
    """None when the base URL answers at all (any status), else why not."""
    with TranscriptClient(target) as client:
        exchange = client.request("GET", target.base_url, absolute=True)
    if exchange.error:
        return UNREACHABLE.format(url=target.base_url, error=exchange.error)
    return None


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
    error = check_reachable(target)
    if error is not None:
        emit(RunFinished(target.api, (), time.monotonic() - started, error))
        return []
    results: list[Result] = []
    for layer in LAYERS:
        for result in _run_layer(layer, target, catalogue, settings, emit, loader):
            results.append(result)
            emit(RequirementChecked(result))
    order = {r.id: i for i, r in enumerate(catalogue)}
    results.sort(key=lambda r: order[r.requirement.id])
    emit(RunFinished(target.api, tuple(results), time.monotonic() - started))
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
    if layer not in settings.profile.layers:
        return _all(own, Verdict.SKIPPED, NOT_IN_PROFILE.format(profile=settings.profile.name))
    if settings.time_left() <= 0:
        return _all(own, Verdict.SKIPPED, BUDGET_SPENT)
    try:
        function = loader(layer)
        if function is None:
            return _all(own, Verdict.SKIPPED, NOT_AVAILABLE.format(layer=layer))
        reported = function(target, catalogue, settings, emit)
    except Exception as exc:  # a broken layer must not take the run (or the report) with it
        message = LAYER_CRASHED.format(layer=layer, error=f"{type(exc).__name__}: {exc}")
        return _all(own, Verdict.ERROR, message, settings.seed)
    return _complete(layer, own, reported)


def _complete(layer: str, own: list[Requirement], reported: list[Result]) -> list[Result]:
    """Exactly one result per requirement of the layer, in catalogue order."""
    by_id: dict[str, Result] = {}
    for result in reported:
        by_id.setdefault(result.requirement.id, result)
    return [
        by_id.get(r.id) or Result(r, Verdict.SKIPPED, NOT_REPORTED.format(layer=layer)) for r in own
    ]


def _all(
    requirements: list[Requirement], verdict: Verdict, message: str, seed: int | None = None
) -> list[Result]:
    return [Result(r, verdict, message, seed=seed) for r in requirements]


def is_conformant(results: list[Result] | tuple[Result, ...]) -> bool:
    """No MUST requirement failed or errored (SHOULD failures are reported, not fatal)."""
    return not any(is_blocking(r) for r in results)
