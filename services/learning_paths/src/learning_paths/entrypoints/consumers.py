"""Subscribers: each event class to its use case, with the platform's ack/nak/DLQ policy.
Every event about a person is applied with `apply_once(..., person=...)`, so nothing is
written back after the person's erasure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wijkkracht_common.batch_consumer import BatchConsumer, subscribe_batch
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
from learning_paths.service import erasure, export
from learning_paths.service.context import Context
from learning_paths.service.placement_batches import MeasurementBatches, ResponseBatches

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

    async def on_tenant(envelope: Envelope[TenantCreated], delivery: Delivery) -> bool:
        async def effect(db: Database[dict[str, Any]], session: Session) -> list[Staged]:
            await ctx.repos(db, session).save_privacy_k(clamp_k(envelope.data.k_anonymity))
            return []

        return await apply_once(ctx.runtime, envelope, delivery, effect)

    on(PersonErasureRequested, on_erasure)
    on(PersonExportRequested, on_export)
    on(TenantCreated, on_tenant)


def register_batch_consumers(
    ctx: Context, runtime: Any
) -> list[BatchConsumer[ResponseSubmitted] | BatchConsumer[MeasurementRecorded]]:
    """Responses and measurements, a batch per transaction (service/placement_batches.py);
    the composition root starts them once the broker is connected."""

    def js() -> Any:
        return runtime.js

    common: dict[str, Any] = {
        "consumer_service": ctx.settings.service_name,
        "storage": runtime.storage,
        "js": js,
        "batch_size": 200,
        "batch_timeout": 0.1,
        "max_deliver": ctx.settings.consumer_max_deliver,
        "metrics": runtime.metrics,
    }
    return [
        subscribe_batch(event_cls=ResponseSubmitted, apply=ResponseBatches(ctx), **common),
        subscribe_batch(event_cls=MeasurementRecorded, apply=MeasurementBatches(ctx), **common),
    ]
