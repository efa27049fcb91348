"""faststream subscribers: the batch consumer for responses, single-event ones for the rest."""

from __future__ import annotations

from nats.js.client import JetStreamContext
from wijkkracht_common.batch_consumer import BatchConsumer, subscribe_batch
from wijkkracht_common.events.envelope import DataT
from wijkkracht_common.events.identity import (
    ConsentGranted,
    ConsentRevoked,
    PersonErasureRequested,
    PersonProfileUpdated,
    PersonRegistered,
    TenantCreated,
)
from wijkkracht_common.events.questionnaires import InstrumentPublished, ResponseSubmitted
from wijkkracht_common.messaging import EventHandler, subscribe
from wijkkracht_common.runtime import ServiceRuntime

from effect_measurement.service.erasure import Erasure
from effect_measurement.service.ingest import ResponseIngestion
from effect_measurement.service.projections import Projections
from effect_measurement.settings import Settings

SERVICE = "effect_measurement"


def register_consumers(
    runtime: ServiceRuntime, settings: Settings
) -> BatchConsumer[ResponseSubmitted]:
    """Single-event subscribers on the broker; returns the response batch consumer (the
    composition root starts it once the broker is connected)."""

    def js() -> JetStreamContext:
        return runtime.js

    ingestion = ResponseIngestion(runtime, settings.ingest_history_cache_persons)
    responses = subscribe_batch(
        consumer_service=SERVICE,
        event_cls=ResponseSubmitted,
        apply=ingestion,
        prepare=ingestion.prepare,
        storage=runtime.storage,
        js=js,
        batch_size=settings.ingest_batch_size,
        batch_timeout=settings.ingest_batch_timeout,
        max_deliver=settings.consumer_max_deliver,
        metrics=runtime.metrics,
        use_inbox=False,  # idempotent by the measurement's `_id` (see service/ingest.py)
    )
    projections = Projections(runtime)

    def single(event_cls: type[DataT], handler: EventHandler[DataT]) -> None:
        subscribe(
            runtime.broker,
            consumer_service=SERVICE,
            event_cls=event_cls,
            handler=handler,
            js=js,
            metrics=runtime.metrics,
            max_deliver=settings.consumer_max_deliver,
        )

    single(PersonRegistered, projections.person)
    single(PersonProfileUpdated, projections.person)
    single(ConsentGranted, projections.consent)
    single(ConsentRevoked, projections.consent)
    single(TenantCreated, projections.tenant_created)
    single(InstrumentPublished, projections.instrument)
    single(PersonErasureRequested, Erasure(runtime))
    return responses
