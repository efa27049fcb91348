"""faststream subscribers: the batch consumer for responses, single-event ones for the rest."""

from __future__ import annotations

from nats.js.client import JetStreamContext
from wijkkracht_common.batch_consumer import (
    BatchConsumer,
    PartitionedBatchConsumer,
    subscribe_batch,
    subscribe_partitioned,
)
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
from wijkkracht_common.group_commit import SharedCommits
from wijkkracht_common.messaging import EventHandler, subscribe
from wijkkracht_common.partitions import replica_id
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
) -> PartitionedBatchConsumer[ResponseSubmitted]:
    """Single-event subscribers on the broker; returns the partitioned response consumer (the
    composition root starts it once the broker is connected)."""

    def js() -> JetStreamContext:
        return runtime.js

    count = settings.ingest_partitions
    cache_per_partition = settings.ingest_history_cache_persons // count

    # The partitions this process holds apply their batches concurrently: those of a tenant
    # that arrive together share one transaction (one per round, not one per partition).
    commits = SharedCommits(runtime)

    def partition_consumer(partition: tuple[int, int]) -> BatchConsumer[ResponseSubmitted]:
        index, _ = partition
        ingestion = ResponseIngestion(commits, cache_per_partition, partition=f"p{index}of{count}")
        return subscribe_batch(
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
            partition=partition,
        )

    # Partitioned by person: each person's responses reach one replica, in order, and its
    # history cache and plans stay valid there (docs/decisions.md, "replicas").
    responses = subscribe_partitioned(
        consumer_service=SERVICE,
        event_cls=ResponseSubmitted,
        count=count,
        consumer_for=partition_consumer,
        member=settings.replica_id or replica_id(),
        lease_seconds=settings.partition_lease_seconds,
        kv_replicas=settings.stream_replicas,
        metrics=runtime.metrics,
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
