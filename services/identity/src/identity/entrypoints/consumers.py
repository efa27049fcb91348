"""Identity's event consumers: the residents' access-log projection and the erasure
confirmations (`person_data_erased`) of every producing service, one durable each."""

from __future__ import annotations

from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.events.effect_measurement import EffectsPersonDataErased
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataErased
from wijkkracht_common.events.social_map import SocialMapPersonDataErased
from wijkkracht_common.messaging import subscribe

from identity.service.access_log import projection_handler
from identity.service.context import Identity
from identity.service.erasure import confirmation_handler

ERASURE_CONFIRMATIONS = (
    QuestionnairesPersonDataErased,
    EffectsPersonDataErased,
    SocialMapPersonDataErased,
)


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
    for event_cls in ERASURE_CONFIRMATIONS:
        subscribe(
            runtime.broker,
            consumer_service="identity",
            event_cls=event_cls,
            handler=confirmation_handler(ctx),
            js=lambda: runtime.js,
            max_deliver=ctx.settings.consumer_max_deliver,
            metrics=runtime.metrics,
        )
