"""faststream subscribers: the batch consumer for responses, single-event ones for the rest."""

from __future__ import annotations

from nats.js.client import JetStreamContext
from wijkkracht_common.batch_consumer import BatchConsumer, subscribe_batch
from wijkkracht_common.consent import register_consent_projection
from wijkkracht_common.events.envelope import DataT
from wijkkracht_common.events.identity import (
    PersonErasureRequested,
    PersonExportRequested,
    PersonProfileUpdated,
    PersonRegistered,
    TenantCreated,
)
from wijkkracht_common.events.learning_paths import ModuleCompleted
from wijkkracht_common.events.marketplace import HelpCompleted
from wijkkracht_common.events.questionnaires import InstrumentPublished, ResponseSubmitted
from wijkkracht_common.messaging import EventHandler, subscribe
from wijkkracht_common.runtime import ServiceRuntime

from effect_measurement.service.erasure import Erasure
from effect_measurement.service.export import Export
from effect_measurement.service.ingest import ResponseIngestion
from effect_measurement.service.interventions_in import InterventionsIn
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
        # One span per batch, linked to each response's trace (from the HTTP submit on).
        trace_batches=settings.tracing_enabled,
    )
    projections = Projections(runtime)
    interventions = InterventionsIn(runtime)

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
    register_consent_projection(
        runtime, consumer_service=SERVICE, max_deliver=settings.consumer_max_deliver
    )
    single(TenantCreated, projections.tenant_created)
    single(InstrumentPublished, projections.instrument)
    single(ModuleCompleted, interventions.module_completed)
    single(HelpCompleted, interventions.help_completed)
    single(PersonErasureRequested, Erasure(runtime))
    single(PersonExportRequested, Export(runtime))
    return responses
