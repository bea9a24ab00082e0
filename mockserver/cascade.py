"""Cascades: a parent entering a state moves and changes its children.

When an applicant is redacted, Onfido redacts its checks too. A child resource declares the
moves (`lifecycle.transitions` with `via: {parent: redacted}`) and any values to set
(`parent.on-enter: {redacted: {...}}`); every child of the parent in a source state of such a
transition enters its target (with its own on-enter values) and cascades on to its own children.
"""

from kycspec.expressions import Context
from kycspec.model import Resource
from kycspec.types import JSONObject
from mockserver.hooks import RECORD_HOOKS, VIA_CASCADE, Entered
from mockserver.lifecycle import enter


def _target(child: Resource, record: JSONObject, parent_state: str) -> str | None:
    lifecycle = child.lifecycle
    if lifecycle is None:
        return None
    state = record.get(lifecycle.field)
    for transition in lifecycle.transitions:
        if transition.parent == parent_state and state in transition.sources:
            return transition.target
    return None


@RECORD_HOOKS.decorator()
def cascade(event: Entered) -> None:
    """Apply each child resource's parent-driven transitions and `parent.on-enter` values."""
    engine = event.engine
    parent_id = str(event.record[event.resource.id_field])
    for child in engine.children(event.resource.name):
        values = child.parent.on_enter.get(event.state) if child.parent else None
        partition = (*event.partition, parent_id)
        collection = engine.collection_for(event.sandbox, child, partition)
        for record in list(collection):
            target = _target(child, record, event.state)
            if target is None and values is None:
                continue
            changed: JSONObject = dict(record)
            ctx = Context(event.ctx.now, child.time_format, {"record": changed})
            if values is not None:
                changed.update(values(ctx))
            if target is not None and child.lifecycle is not None:
                enter(child.lifecycle, changed, target, ctx)
            engine.store_changed(event.sandbox, child, partition, collection, changed, ctx)
            if target is not None:
                moved = Entered(
                    engine, event.sandbox, child, partition, changed, target, ctx, VIA_CASCADE
                )
                engine.entered(moved)
