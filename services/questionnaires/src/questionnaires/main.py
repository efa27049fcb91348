"""Composition root of the questionnaires service (port 8002, prefix /questionnaires/v1)."""

from __future__ import annotations

from fastapi import FastAPI
from wijkkracht_common.auth import TokenVerifier
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.runtime import ServiceRuntime

from questionnaires.adapters import legacy_consents
from questionnaires.adapters.documents import INDEXES
from questionnaires.adapters.unit_of_work import StorageUnitOfWork
from questionnaires.entrypoints import (
    http_anonymous,
    http_instruments,
    http_invitations,
    http_responses,
)
from questionnaires.entrypoints.consumers import register_consumers
from questionnaires.entrypoints.shutdown import stop_first
from questionnaires.service import invitations
from questionnaires.service.context import Context
from questionnaires.settings import Settings

PREFIX = "/questionnaires/v1"


def build_context(settings: Settings, runtime: ServiceRuntime) -> Context:
    """The use cases' context on the runtime's storage (unit tests build theirs on fakes).
    The runtime's intake refuses consumed events' transactions once it stops (intake.py)."""
    uow = StorageUnitOfWork(runtime, batch_reads=settings.batch_reads)
    return Context(
        settings=settings,
        uow=uow,
        db=uow.database,
        response_reads=uow.response_reads,
        intake=runtime.intake,
    )


def create_app(
    settings: Settings | None = None, *, verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, indexes=INDEXES, with_mail=True)
    ctx = build_context(settings, runtime)
    register_consumers(ctx, runtime)
    runtime.add_job(legacy_consents.migration_job(runtime))
    if settings.invitation_sweep_seconds > 0:
        runtime.add_job(invitations.sweep_job(ctx))

    stop_first(runtime, ctx)
    app = create_base_app(
        settings,
        title="Wijkkracht questionnaires",
        description="Vragenlijsten, zelfscans, uitnodigingen en spinnenweb. / Questionnaires, "
        "self-assessments, invitations and spider-web charts.",
        prefix=PREFIX,
        metrics=runtime.metrics,
        readiness={"nats": runtime.nats_ready, "database": runtime.db_ready},
        lifespan=runtime.lifespan,
        verifier=verifier,
    )
    app.state.runtime = runtime
    app.state.ctx = ctx
    app.state.anonymous_limiter = http_anonymous.RateLimiter()
    for module in (http_instruments, http_responses, http_invitations):
        app.include_router(module.router, prefix=PREFIX)
    # Routes with a body limit of their own (the platform's default is 1 MiB).
    app.include_router(
        http_instruments.import_router, prefix=PREFIX, max_body_size=settings.max_import_body
    )
    app.include_router(
        http_anonymous.router, prefix=PREFIX, max_body_size=settings.max_anonymous_body
    )
    return app
