"""Where a child resource's parent refuses child writes, and how a client gets it there.

A child write (create, update, transition, delete) needs its parent in one of
`parent.writable-in` (any state when empty) and not in one of the parent's `read-only` states
(specs/README.md, "Parent-child resources" and `read-only`). The suite steers a parent into
such a state through the operations its lifecycle declares, as a client would.
"""

from collections import deque

from kycspec.lifecycle import Lifecycle, Transition
from kycspec.model import ApiSpec, Resource


def closed_states(spec: ApiSpec, child: Resource) -> tuple[str, ...]:
    """The parent states in which `child` writes are refused, in the parent's declared order
    (empty when the child has no parent, or its parent no lifecycle)."""
    parent = child.parent
    lifecycle = spec.resources[parent.resource].lifecycle if parent else None
    if parent is None or lifecycle is None:
        return ()
    return tuple(
        state
        for state in lifecycle.states
        if (parent.writable_in and state not in parent.writable_in) or state in lifecycle.read_only
    )


def route(
    lifecycle: Lifecycle, start: str, goals: tuple[str, ...]
) -> tuple[Transition, ...] | None:
    """The shortest run of operation-driven, unguarded transitions from `start` into one of
    `goals` (empty when `start` is one); None when there is none."""
    paths: dict[str, tuple[Transition, ...]] = {start: ()}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if state in goals:
            return paths[state]
        for transition in lifecycle.transitions:
            if (
                transition.operation
                and not transition.guards
                and state in transition.sources
                and transition.target not in paths
            ):
                paths[transition.target] = (*paths[state], transition)
                queue.append(transition.target)
    return None


def reachable_closed_states(spec: ApiSpec, child: Resource) -> tuple[str, ...]:
    """The closed parent states a new parent can be moved into by its operations."""
    parent = child.parent
    lifecycle = spec.resources[parent.resource].lifecycle if parent else None
    closed = closed_states(spec, child)
    if lifecycle is None or not closed:
        return ()
    return tuple(
        state
        for state in closed
        if any(route(lifecycle, start, (state,)) is not None for start in lifecycle.initial)
    )
