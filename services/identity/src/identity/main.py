"""Composition root of the identity service (port 8001, prefix /identity/v1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from wijkkracht_common.auth import TokenVerifier
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.periodic import PeriodicTask

from identity.entrypoints.consumers import register_consumers
from identity.entrypoints.cors import install_cors
from identity.entrypoints.http_admin import router as admin_router
from identity.entrypoints.http_oauth import router as oauth_router
from identity.entrypoints.http_self import router as self_router
from identity.service.consents import index_current_grants
from identity.service.context import Identity
from identity.service.erasure import purge_streams, remind_pending
from identity.service.exports import assemble_pending
from identity.service.keys import local_verifier
from identity.settings import Settings
from identity.startup import check_database, check_settings

PREFIX = "/identity/v1"

DESCRIPTION = (
    "Tenants, organisations, people and roles, API clients, consent, OAuth 2.0 / OpenID "
    "Connect (authorization code + PKCE, client credentials, refresh rotation), JWKS and the "
    "residents' access log."
)


def create_app(
    settings: Settings | None = None, *, verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or Settings()
    check_settings(settings)
    ctx = Identity.build(settings)
    register_consumers(ctx)
    jobs = (
        ("erasure-reminders", remind_pending, settings.erasure_reminder_scan_seconds),
        ("erasure-stream-purge", purge_streams, settings.erasure_purge_scan_seconds),
        ("export-assembly", assemble_pending, settings.export_assembly_scan_seconds),
    )
    for name, job, seconds in jobs:
        if seconds > 0:
            ctx.runtime.add_job(PeriodicTask(name, partial(job, ctx), seconds))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await check_database(ctx)
        await index_current_grants(ctx)
        async with ctx.runtime.lifespan(app):
            yield

    app = create_base_app(
        settings,
        title="Wijkkracht identity",
        description=DESCRIPTION,
        prefix=PREFIX,
        metrics=ctx.runtime.metrics,
        readiness={"nats": ctx.runtime.nats_ready, "database": ctx.runtime.db_ready},
        lifespan=lifespan,
        # Identity verifies its own tokens from its key store, never over HTTP to itself.
        verifier=verifier or local_verifier(ctx.keys, settings),
    )
    app.state.runtime = ctx.runtime
    app.state.identity = ctx
    install_cors(app, ctx)
    for router in (oauth_router, admin_router, self_router):
        app.include_router(router, prefix=PREFIX)
    return app
