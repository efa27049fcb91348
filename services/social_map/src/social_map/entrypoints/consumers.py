"""Subscribers: identity's neighbourhoods, people, consents and erasure requests;
questionnaire responses. Each event class to its handler, with the platform's ack/nak/DLQ
policy; the handlers apply events once (`service/projections.py`, `service/erasure.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from wijkkracht_common.events.envelope import EventData
from wijkkracht_common.events.identity import (
    ConsentGranted,
    ConsentRevoked,
    NeighbourhoodsImported,
    PersonErasureRequested,
    PersonProfileUpdated,
    PersonRegistered,
)
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import subscribe

from social_map.service import erasure, projections
from social_map.service.context import SERVICE, ServiceContext

HANDLERS: list[tuple[type[EventData], Callable[..., Awaitable[bool]]]] = [
    (NeighbourhoodsImported, projections.on_neighbourhoods),
    (PersonRegistered, projections.on_person),
    (PersonProfileUpdated, projections.on_person),
    (ConsentGranted, projections.on_consent),
    (ConsentRevoked, projections.on_consent),
    (ResponseSubmitted, projections.on_response),
    (PersonErasureRequested, erasure.on_erasure),
]


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
