"""Settings of the effect measurement service (env prefix WK_)."""

from __future__ import annotations

from pydantic import Field
from wijkkracht_common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service_name: str = "effect_measurement"
    http_port: int = 8006

    # Batch ingestion of response_submitted (wijkkracht_common.batch_consumer).
    # Larger batches share cell upserts among more events (measured: 500 → 2,000 events per
    # batch took ingestion from ~2,900 to ~3,700 events/s; p99 submit-to-visible 35 → 63 ms).
    ingest_batch_size: int = Field(default=2000, ge=1, le=5000)
    ingest_batch_timeout: float = Field(default=0.2, gt=0)
    #: Persons per tenant whose measurement histories ingestion keeps in memory (~2.9 kB per
    #: decoded measurement: 20,000 persons ≈ 130 MB per tenant); 0 reads every history from
    #: the database. Hits are persons measured again while still cached (redeliveries, a
    #: follow-up soon after the baseline); a follow-up months later is read again.
    ingest_history_cache_persons: int = Field(default=20_000, ge=0)
    #: Partitions of the ingestion (by person; `wijkkracht_common.partitions`), leased among
    #: the replicas: set it to the most replicas that run (the autoscaler's maximum; the k8s
    #: base sets 4). One replica holding several pays a transaction per partition where the
    #: database runs one at a time (nx-27017: 100 events/s submit-to-visible p99 95 ms with 1,
    #: 212 ms with 2, 380 ms with 4 partitions in one process), hence 1 by default (`make
    #: run`). The history cache is split among them. Changing it starts new durables that
    #: read the stream from its start (idempotent by response id, but a pass over it).
    ingest_partitions: int = Field(default=1, ge=1, le=64)

    # Follow-up schedule: months after the latest measurement; seconds override for tests/demo.
    followup_months: int = Field(default=3, ge=1, le=24)
    followup_after_seconds: float | None = None
    followup_scan_seconds: float = Field(default=60.0, gt=0)
    run_scheduler: bool = True
    #: Move the service's former consent projection into the platform's (a start-up pass,
    #: then hourly; `service/legacy_consents.py`).
    adopt_legacy_consents: bool = True
