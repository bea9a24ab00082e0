"""Routes to every declared webhook: which changes to make to a new record so that each event a
spec declares (`x-webhooks`) is emitted, and which events a subscriber must then receive.

A route creates a record, then follows declared transitions (operations, or the clock) from the
state the create left it in to the transition whose event it is about. The path is found at run
time (`path_to`), from the state the server actually reported.
"""

from collections import deque
from dataclasses import dataclass

from kycspec.lifecycle import Lifecycle, Transition
from kycspec.model import ApiSpec, Resource
from kycspec.webhooks import WebhookEvent, Webhooks


@dataclass(frozen=True)
class Route:
    """A way to one emitting change: create a record of `resource`, then reach `transition`
    (None: the create itself is the change). `units` are the declared changes it covers."""

    resource: Resource
    transition: Transition | None
    units: tuple[str, ...]


def via(transition: Transition) -> str:
    return "clock" if transition.clock else "operation"


def unit_of(event: WebhookEvent, transition: Transition | None) -> str:
    """How a declared change is named in reports: `<event> on create` or `<event> on
    <sources> -> <target> (<operation>|clock <field>)`."""
    if transition is None:
        return f"{event.name} on create"
    driver = transition.operation or f"clock {transition.clock}"
    return f"{event.name} on {'|'.join(transition.sources)} -> {transition.target} ({driver})"


def routes(spec: ApiSpec) -> list[Route]:
    """One route per emitting create and transition of every resource with events."""
    hooks = spec.webhooks
    if hooks is None:
        return []
    found: list[Route] = []
    for resource in spec.resources.values():
        created = [e for e in hooks.events.values() if e.resource == resource.name and e.on_create]
        if created and spec.operations_of(resource.name, "create"):
            found.append(Route(resource, None, tuple(unit_of(e, None) for e in created)))
        lifecycle = resource.lifecycle
        for transition in lifecycle.transitions if lifecycle else ():
            emitted = hooks.emitted(resource.name, transition.target, via(transition))
            if emitted:
                units = tuple(unit_of(e, transition) for e in emitted)
                found.append(Route(resource, transition, units))
    return found


def expected_events(hooks: Webhooks, resource: Resource, steps: list[Transition]) -> list[str]:
    """The events, in order, that creating a record and making `steps` emits."""
    names = [e.name for e in hooks.emitted(resource.name, "", "create")]
    for step in steps:
        names += [e.name for e in hooks.emitted(resource.name, step.target, via(step))]
    return names


def path_to(lifecycle: Lifecycle, start: str, goal: Transition) -> list[Transition] | None:
    """The shortest list of transitions from `start` that ends with `goal` (None: unreachable).

    A self-loop (FinHub's repeated upload) counts as a step like any other."""
    if start in goal.sources:
        return [goal]
    seen = {start}
    queue: deque[tuple[str, list[Transition]]] = deque([(start, [])])
    while queue:
        state, steps = queue.popleft()
        for transition in lifecycle.transitions:
            if state not in transition.sources or transition.target in seen:
                continue
            walked = [*steps, transition]
            if transition.target in goal.sources:
                return [*walked, goal]
            seen.add(transition.target)
            queue.append((transition.target, walked))
    return None
