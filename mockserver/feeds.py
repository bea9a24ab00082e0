"""Feeds: a resource that records the state changes of others (`records`, an events list).

Onfido's and Persona's webhooks and event lists report `check.completed`, `inquiry.approved`
and the like; a spec declares such a list as an ordinary resource with `records`, and this
hook stores one of its records for every state a watched record enters, so its list and read
operations show them in order, newest first.
"""

from kycspec.expressions import Context
from kycspec.idformat import generate_id
from kycspec.types import JSONObject
from mockserver.hooks import RECORD_HOOKS, Entered


@RECORD_HOOKS.decorator()
def feed(event: Entered) -> None:
    """Store a feed record in every feed that watches the record's resource."""
    engine = event.engine
    for resource, watching in engine.feeds(event.resource.name):
        entry: JSONObject = {resource.id_field: generate_id(resource.id_format)}
        described = {
            "type": f"{event.resource.name}.{event.state}",
            "resource": event.resource.name,
            "state": event.state,
            "via": event.via,
        }
        ctx = Context(
            event.ctx.now, resource.time_format, {"record": event.record, "event": described}
        )
        entry.update({key: value(ctx) for key, value in watching.set.items()})
        engine.store_new(event.sandbox, resource, entry, ctx)
