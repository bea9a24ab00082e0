"""The record hook that hands every state a record enters to the webhook outbox
(`mockserver.outbox`), which writes the deliveries of the events `x-webhooks` declares for it."""

from mockserver.hooks import RECORD_HOOKS, Entered


@RECORD_HOOKS.decorator()
def webhooks(event: Entered) -> None:
    outbox = event.engine.outbox
    if outbox is not None:
        outbox.entered(
            event.engine.spec, event.sandbox, event.resource, event.record, event.ctx, event.via
        )
