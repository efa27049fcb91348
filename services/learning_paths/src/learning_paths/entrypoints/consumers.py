"""Subscribers: each event class to its use case, with the platform's ack/nak/DLQ policy."""

from __future__ import annotations

from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.messaging import Delivery, subscribe

from learning_paths.service import erasure
from learning_paths.service.context import Context


def register_consumers(ctx: Context) -> None:
    runtime = ctx.runtime

    async def on_erasure(envelope: Envelope[PersonErasureRequested], delivery: Delivery) -> bool:
        return await erasure.on_erasure_requested(ctx, envelope, delivery)

    subscribe(
        runtime.broker,
        consumer_service=ctx.settings.service_name,
        event_cls=PersonErasureRequested,
        handler=on_erasure,
        js=lambda: runtime.js,
        metrics=runtime.metrics,
    )
