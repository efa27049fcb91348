"""Subscribers: each event class to its use case, with the platform's ack/nak/DLQ policy.
Every event about a person is applied with `apply_once(..., person=...)`, so nothing is
written back after the person's erasure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wijkkracht_common.consent import register_consent_projection
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import DataT, Envelope
from wijkkracht_common.events.identity import (
    PersonErasureRequested,
    PersonExportRequested,
    TenantCreated,
)
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import Delivery, apply_once, subscribe
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Database, Session

from learning_paths.domain.usage import clamp_k
from learning_paths.service import erasure, export, placement, surveys
from learning_paths.service.context import Context

Handler = Callable[[Envelope[DataT], Delivery], Awaitable[bool]]


def register_consumers(ctx: Context, runtime: Any) -> None:
    """`runtime`: the ServiceRuntime (its broker and JetStream context)."""
    service = ctx.settings.service_name

    def on(event_cls: type[DataT], handler: Handler[DataT]) -> None:
        subscribe(
            runtime.broker,
            consumer_service=service,
            event_cls=event_cls,
            handler=handler,
            js=lambda: runtime.js,
            max_deliver=ctx.settings.consumer_max_deliver,
            metrics=runtime.metrics,
        )

    register_consent_projection(runtime, consumer_service=service)

    async def on_erasure(envelope: Envelope[PersonErasureRequested], delivery: Delivery) -> bool:
        return await erasure.on_erasure_requested(ctx, envelope, delivery)

    async def on_export(envelope: Envelope[PersonExportRequested], delivery: Delivery) -> bool:
        return await export.on_export_requested(ctx, envelope, delivery)

    async def on_response(envelope: Envelope[ResponseSubmitted], delivery: Delivery) -> bool:
        async def effect(db: Database[dict[str, Any]], session: Session) -> list[Staged]:
            repo = ctx.repos(db, session)
            await surveys.on_survey(repo, envelope)
            return await placement.on_response(repo, envelope, ctx.now())

        person = envelope.data.person_id
        if person is None:
            return False  # anonymous: nothing to place, nothing to count
        return await apply_once(ctx.runtime, envelope, delivery, effect, person=person)

    async def on_measurement(envelope: Envelope[MeasurementRecorded], delivery: Delivery) -> bool:
        async def effect(db: Database[dict[str, Any]], session: Session) -> list[Staged]:
            return await placement.on_measurement(ctx.repos(db, session), envelope, ctx.now())

        return await apply_once(
            ctx.runtime, envelope, delivery, effect, person=envelope.data.person_id
        )

    async def on_tenant(envelope: Envelope[TenantCreated], delivery: Delivery) -> bool:
        async def effect(db: Database[dict[str, Any]], session: Session) -> list[Staged]:
            await ctx.repos(db, session).save_privacy_k(clamp_k(envelope.data.k_anonymity))
            return []

        return await apply_once(ctx.runtime, envelope, delivery, effect)

    on(PersonErasureRequested, on_erasure)
    on(PersonExportRequested, on_export)
    on(ResponseSubmitted, on_response)
    on(MeasurementRecorded, on_measurement)
    on(TenantCreated, on_tenant)
