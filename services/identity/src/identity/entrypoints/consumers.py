"""Identity's event consumers, one durable each, every one applied once through
`messaging.apply_once`: the residents' access-log projection (`service.access_log`), the
erasure confirmations (`service.erasure`) and export parts (`service.exports`) of every
service that keeps personal data, and questionnaires' shared invitation answers
(`service.consents`)."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.events.effect_measurement import (
    EffectsPersonDataErased,
    EffectsPersonDataExported,
)
from wijkkracht_common.events.envelope import Envelope, EventData
from wijkkracht_common.events.learning_paths import (
    LearningPathsPersonDataErased,
    LearningPathsPersonDataExported,
)
from wijkkracht_common.events.marketplace import (
    MarketplacePersonDataErased,
    MarketplacePersonDataExported,
)
from wijkkracht_common.events.questionnaires import (
    InvitationAnswersShared,
    QuestionnairesPersonDataErased,
    QuestionnairesPersonDataExported,
)
from wijkkracht_common.events.social_map import (
    SocialMapPersonDataErased,
    SocialMapPersonDataExported,
)
from wijkkracht_common.messaging import Delivery, EventHandler, subscribe

from identity.service import access_log, consents, erasure, exports
from identity.service.context import Identity

ERASURE_CONFIRMATIONS = (
    QuestionnairesPersonDataErased,
    EffectsPersonDataErased,
    SocialMapPersonDataErased,
    LearningPathsPersonDataErased,
    MarketplacePersonDataErased,
)
EXPORT_PARTS = (
    QuestionnairesPersonDataExported,
    EffectsPersonDataExported,
    SocialMapPersonDataExported,
    LearningPathsPersonDataExported,
    MarketplacePersonDataExported,
)


def _erasure_confirmations(ctx: Identity, _: type[erasure.E]) -> EventHandler[erasure.E]:
    async def handle(envelope: Envelope[erasure.E], delivery: Delivery) -> bool:
        return await erasure.on_data_erased(ctx, envelope, delivery)

    return handle


def _export_parts(ctx: Identity, _: type[exports.X]) -> EventHandler[exports.X]:
    async def handle(envelope: Envelope[exports.X], delivery: Delivery) -> bool:
        return await exports.on_part_exported(ctx, envelope, delivery)

    return handle


def register_consumers(ctx: Identity) -> None:
    runtime = ctx.runtime

    def on(event_cls: type[EventData], handler: EventHandler[Any]) -> None:
        subscribe(
            runtime.broker,
            consumer_service="identity",
            event_cls=event_cls,
            handler=handler,
            js=lambda: runtime.js,
            max_deliver=ctx.settings.consumer_max_deliver,
            metrics=runtime.metrics,
        )

    async def on_access_recorded(envelope: Envelope[AccessRecorded], delivery: Delivery) -> bool:
        return await access_log.on_access_recorded(ctx, envelope, delivery)

    async def on_answers_shared(
        envelope: Envelope[InvitationAnswersShared], delivery: Delivery
    ) -> bool:
        return await consents.on_answers_shared(ctx, envelope, delivery)

    on(AccessRecorded, on_access_recorded)
    on(InvitationAnswersShared, on_answers_shared)
    for confirmation in ERASURE_CONFIRMATIONS:
        on(confirmation, _erasure_confirmations(ctx, confirmation))
    for part in EXPORT_PARTS:
        on(part, _export_parts(ctx, part))
