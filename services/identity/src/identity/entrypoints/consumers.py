"""Identity's event consumers: the residents' access-log projection."""

from __future__ import annotations

from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.messaging import subscribe

from identity.service.access_log import projection_handler
from identity.service.context import Identity


def register_consumers(ctx: Identity) -> None:
    runtime = ctx.runtime
    subscribe(
        runtime.broker,
        consumer_service="identity",
        event_cls=AccessRecorded,
        handler=projection_handler(ctx),
        js=lambda: runtime.js,
        max_deliver=ctx.settings.consumer_max_deliver,
        metrics=runtime.metrics,
    )
