"""Composition root of the social map: HTTP app + broker + consumers + freshness sweep."""

from __future__ import annotations

from fastapi import FastAPI
from wijkkracht_common.auth import TokenVerifier
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.runtime import ServiceRuntime

from social_map.adapters.repositories import INDEXES
from social_map.entrypoints import http_admin, http_entries, http_search
from social_map.entrypoints.consumers import register_consumers
from social_map.entrypoints.deps import install_domain_handlers
from social_map.service.context import Clock, ServiceContext, system_clock
from social_map.service.freshness import sweeper as freshness_sweeper
from social_map.service.legacy_consents import adopter as legacy_consent_adopter
from social_map.service.search_index import warmer as search_warmer
from social_map.settings import Settings

PREFIX = "/social-map/v1"


def create_app(
    settings: Settings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or Settings()
    settings.check_secrets()
    runtime = ServiceRuntime(settings, indexes=INDEXES, with_mail=True)
    ctx = ServiceContext(runtime, settings, clock or system_clock)
    register_consumers(ctx)
    if settings.run_freshness_sweep:
        runtime.add_job(freshness_sweeper(ctx, settings.freshness_sweep_seconds))
    if settings.adopt_legacy_consents:
        runtime.add_job(legacy_consent_adopter(ctx))
    if settings.search_warm_at_startup:
        runtime.add_job(search_warmer(ctx.search_indexes, ctx.tenants_to_warm, 300.0))

    app = create_base_app(
        settings,
        title="Wijkkracht social map (sociale kaart)",
        description="HSDS 3.0 directory, search, freshness, recommendations.",
        prefix=PREFIX,
        metrics=runtime.metrics,
        readiness={"nats": runtime.nats_ready, "database": runtime.db_ready},
        lifespan=runtime.lifespan,
        verifier=verifier,
    )
    install_domain_handlers(app)
    app.state.runtime = runtime
    app.state.ctx = ctx
    for router in (http_entries.router, http_search.router, http_admin.router):
        app.include_router(router, prefix=PREFIX)
    # HSDS packages are far larger than the platform's default body limit
    app.include_router(
        http_admin.imports_router, prefix=PREFIX, max_body_size=settings.import_max_bytes
    )
    return app
