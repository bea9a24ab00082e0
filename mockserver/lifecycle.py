"""Enforce a resource's declared lifecycle: allowed moves, guards, on-enter values, the clock."""

from kycspec.expressions import Context, parse_time
from kycspec.lifecycle import Lifecycle, Transition
from kycspec.model import Resource
from kycspec.types import JSONObject
from mockserver.errors import (
    READ_ONLY_REFUSED,
    TRANSITION_REFUSED,
    GuardRefused,
    InvalidTransition,
)
from mockserver.store import Collection


def check_transition(
    resource: Resource, source: str, target: str, operation: str, ctx: Context
) -> Transition:
    """The declared transition for this move, or the error that refuses it."""
    lifecycle = resource.lifecycle
    transition = lifecycle.find(source, target, operation) if lifecycle else None
    if transition is None:
        raise InvalidTransition(
            TRANSITION_REFUSED.format(resource=resource.name, source=source, target=target),
            status=lifecycle.refused_status if lifecycle else None,
        )
    for guard in transition.guards:
        if guard.refuses(ctx):
            raise GuardRefused(guard.message, status=guard.status, code=guard.code)
    return transition


def check_writable(
    resource: Resource, record: JSONObject, move: tuple[str, str] | None = None
) -> None:
    """Refuse a write to a record in one of its lifecycle's `read-only` states, unless it is
    a `move` (operation, target) the lifecycle declares out of that state: the lifecycle's
    refusal (409 unless the spec's `x-errors.statuses` says otherwise) in the
    `invalid_transition` kind (a conflict with the record's state, RFC 9110 section 15.5.10)."""
    lifecycle = resource.lifecycle
    state = record.get(lifecycle.field) if lifecycle else None
    if lifecycle is not None and lifecycle.refuses(state, move):
        raise InvalidTransition(
            READ_ONLY_REFUSED.format(
                resource=resource.name, id=record.get(resource.id_field), state=state
            ),
            status=lifecycle.refused_status,
        )


def enter(lifecycle: Lifecycle, record: JSONObject, state: str, ctx: Context) -> None:
    """Put the record in `state` and apply the state's on-enter values."""
    record[lifecycle.field] = state
    values = lifecycle.on_enter.get(state)
    if values is not None:
        record.update(values(ctx))


def schedule_clock(resource: Resource, collection: Collection, record: JSONObject) -> None:
    """Register the moments at which the clock may move this record."""
    lifecycle = resource.lifecycle
    if lifecycle is None:
        return
    state = record.get(lifecycle.field)
    for transition in lifecycle.clock_transitions:
        moment = record.get(transition.clock or "")
        if state in transition.sources and moment is not None:
            collection.schedule(parse_time(moment), record[resource.id_field])


def run_clock(
    resource: Resource, collection: Collection, ctx: Context
) -> list[tuple[JSONObject, Context]]:
    """Apply every clock-driven transition that is due (`expires_at` passed, say).

    Returns the records moved (as stored), each with the context its on-enter values saw.
    """
    lifecycle = resource.lifecycle
    moved: list[tuple[JSONObject, Context]] = []
    if lifecycle is None or not lifecycle.clock_transitions:
        return moved
    for record_id in collection.due(ctx.now):
        record = collection.get(record_id)
        if record is None:
            continue
        for transition in lifecycle.clock_transitions:
            moment = record.get(transition.clock or "")
            if record.get(lifecycle.field) not in transition.sources or moment is None:
                continue
            if parse_time(moment) > ctx.now:
                continue
            changed = dict(record)
            # on-enter values see the record the clock moves, not the request's own record
            own = Context(now=ctx.now, time_format=ctx.time_format, values={"record": changed})
            enter(lifecycle, changed, transition.target, own)
            changed[resource.updated_field] = moment
            collection.replace(changed)
            moved.append((changed, own))
            break
    return moved
