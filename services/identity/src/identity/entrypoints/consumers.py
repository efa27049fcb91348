"""Identity's event consumers, one durable each: the residents' access-log projection
(`service.access_log`) and the erasure confirmations of every producing service
(`service.erasure`). Each handler applies its event once through `messaging.apply_once`."""

from __future__ import annotations

from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.events.effect_measurement import EffectsPersonDataErased
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataErased
from wijkkracht_common.events.social_map import SocialMapPersonDataErased
from wijkkracht_common.messaging import Delivery, EventHandler, subscribe

from identity.service import access_log, erasure
from identity.service.context import Identity

ERASURE_CONFIRMATIONS = (
    QuestionnairesPersonDataErased,
    EffectsPersonDataErased,
    SocialMapPersonDataErased,
)


def _erasure_confirmations(ctx: Identity, _: type[erasure.E]) -> EventHandler[erasure.E]:
    async def handle(envelope: Envelope[erasure.E], delivery: Delivery) -> bool:
        return await erasure.on_data_erased(ctx, envelope, delivery)

    return handle


def register_consumers(ctx: Identity) -> None:
    runtime = ctx.runtime

    async def on_access_recorded(envelope: Envelope[AccessRecorded], delivery: Delivery) -> bool:
        return await access_log.on_access_recorded(ctx, envelope, delivery)

    subscribe(
        runtime.broker,
        consumer_service="identity",
        event_cls=AccessRecorded,
        handler=on_access_recorded,
        js=lambda: runtime.js,
        max_deliver=ctx.settings.consumer_max_deliver,
        metrics=runtime.metrics,
    )
    for event_cls in ERASURE_CONFIRMATIONS:
        subscribe(
            runtime.broker,
            consumer_service="identity",
            event_cls=event_cls,
            handler=_erasure_confirmations(ctx, event_cls),
            js=lambda: runtime.js,
            max_deliver=ctx.settings.consumer_max_deliver,
            metrics=runtime.metrics,
        )
