"""Subscribers: identity's neighbourhoods, people, consents, erasure and export requests;
questionnaire responses. Each event class to its handler, with the platform's ack/nak/DLQ
policy; the handlers apply events once (`service/projections.py`, `service/erasure.py`,
`service/export.py`); consents go to the platform's one projection
(`wijkkracht_common.consent.register_consent_projection`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from wijkkracht_common.consent import register_consent_projection
from wijkkracht_common.events.envelope import EventData
from wijkkracht_common.events.identity import (
    NeighbourhoodsImported,
    PersonErasureRequested,
    PersonExportRequested,
    PersonProfileUpdated,
    PersonRegistered,
)
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import subscribe

from social_map.service import erasure, export, projections
from social_map.service.context import SERVICE, ServiceContext

HANDLERS: list[tuple[type[EventData], Callable[..., Awaitable[bool]]]] = [
    (NeighbourhoodsImported, projections.on_neighbourhoods),
    (PersonRegistered, projections.on_person),
    (PersonProfileUpdated, projections.on_person),
    (ResponseSubmitted, projections.on_response),
    (PersonErasureRequested, erasure.on_erasure),
    (PersonExportRequested, export.on_export_requested),
]


def register_consumers(ctx: ServiceContext) -> None:
    runtime = ctx.runtime
    register_consent_projection(
        runtime, consumer_service=SERVICE, max_deliver=runtime.settings.consumer_max_deliver
    )
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
