"""Settings of the effect measurement service (env prefix WK_)."""

from __future__ import annotations

from pydantic import Field
from wijkkracht_common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service_name: str = "effect_measurement"
    http_port: int = 8006

    # Batch ingestion of response_submitted (wijkkracht_common.batch_consumer).
    ingest_batch_size: int = Field(default=500, ge=1, le=5000)
    ingest_batch_timeout: float = Field(default=0.2, gt=0)

    # Follow-up schedule: months after the latest measurement; seconds override for tests/demo.
    followup_months: int = Field(default=3, ge=1, le=24)
    followup_after_seconds: float | None = None
    followup_scan_seconds: float = Field(default=60.0, gt=0)
    run_scheduler: bool = True
