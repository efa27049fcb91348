"""Composition root of the effect measurement service (port 8006, prefix /effects/v1)."""

from __future__ import annotations

from fastapi import FastAPI
from wijkkracht_common.auth import TokenVerifier
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.runtime import ServiceRuntime

from effect_measurement.adapters.schema import INDEXES
from effect_measurement.entrypoints.consumers import register_consumers
from effect_measurement.entrypoints.http import router
from effect_measurement.service import legacy_consents
from effect_measurement.service.followups import FollowupScheduler
from effect_measurement.settings import Settings

PREFIX = "/effects/v1"


def create_app(
    settings: Settings | None = None, *, verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, indexes=INDEXES)
    runtime.add_batch_consumer(register_consumers(runtime, settings))
    scheduler = FollowupScheduler(runtime, settings)
    if settings.run_scheduler:
        runtime.add_job(
            PeriodicTask("followup-scheduler", scheduler.run_once, settings.followup_scan_seconds)
        )
    if settings.adopt_legacy_consents:
        runtime.add_job(legacy_consents.adopter(runtime))

    app = create_base_app(
        settings,
        title="Wijkkracht effectmeting / effect measurement",
        description="Trajecten, vervolgmetingen en k-anonieme cijfers. / Trajectories, "
        "follow-ups and k-anonymous figures.",
        prefix=PREFIX,
        metrics=runtime.metrics,
        readiness={"nats": runtime.nats_ready, "database": runtime.db_ready},
        lifespan=runtime.lifespan,
        verifier=verifier,
    )
    app.state.runtime = runtime
    app.state.scheduler = scheduler
    app.include_router(router, prefix=PREFIX)
    return app
