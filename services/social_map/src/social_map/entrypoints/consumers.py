"""Subscribers: identity's neighbourhoods, people and consents; questionnaire responses."""

from __future__ import annotations

from functools import partial

from wijkkracht_common.messaging import subscribe

from social_map.service.context import SERVICE, ServiceContext
from social_map.service.projections import HANDLERS


def register_consumers(ctx: ServiceContext) -> None:
    runtime = ctx.runtime
    for event_cls, handler in HANDLERS:
        subscribe(
            runtime.broker,
            consumer_service=SERVICE,
            event_cls=event_cls,
            handler=partial(handler, ctx),
            js=lambda: runtime.js,
            max_deliver=runtime.settings.consumer_max_deliver,
            metrics=runtime.metrics,
        )
