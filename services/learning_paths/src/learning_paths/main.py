"""Composition root: the one place that wires settings, runtime, consumers and routes."""

from __future__ import annotations

from fastapi import FastAPI
from wijkkracht_common.auth import TokenVerifier
from wijkkracht_common.http_app import create_base_app
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.runtime import ServiceRuntime

from learning_paths.adapters.identity_tokens import CredentialExchange, TokenEndpointExchange
from learning_paths.adapters.lrs import LRS_INDEXES
from learning_paths.adapters.repositories import INDEXES
from learning_paths.adapters.social_map import LocalOffers, NoLocalOffers, SocialMapOffers
from learning_paths.entrypoints import (
    http_content,
    http_groups,
    http_learning,
    http_placement,
    http_staff,
    http_xapi,
)
from learning_paths.entrypoints.consumers import register_batch_consumers, register_consumers
from learning_paths.entrypoints.deps import install_domain_problems
from learning_paths.service import reminders
from learning_paths.service.context import Context
from learning_paths.service.lrs import Lrs
from learning_paths.service.lrs_documents import Documents
from learning_paths.settings import Settings

PREFIX = "/learning-paths/v1"


def create_app(
    settings: Settings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    local_offers: LocalOffers | None = None,
    credentials: CredentialExchange | None = None,
) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, indexes=(*INDEXES, *LRS_INDEXES), with_mail=True)
    offers = local_offers or (
        SocialMapOffers(settings.social_map_url) if settings.social_map_url else NoLocalOffers()
    )
    ctx = Context(runtime, settings, local_offers=offers)
    register_consumers(ctx, runtime)
    for consumer in register_batch_consumers(ctx, runtime):
        runtime.add_batch_consumer(consumer)

    async def remind() -> int:
        staged = 0
        for tenant in await runtime.storage.tenants():
            staged += await reminders.run_tenant(ctx, tenant)
        if staged:
            runtime.notify_mail()
        return staged

    app_reminders = runtime.add_job(
        PeriodicTask("learning-reminders", remind, settings.reminder_interval_seconds)
    )

    # xAPI accounts of people are identity's: their homePage is identity's issuer URL
    lrs = Lrs(ctx, home_page=settings.issuer)

    # Before the runtime stops: new statements get 503, those queued are stored
    # (service/statement_writer.py).
    runtime.on_stopping(lrs.writer.stop)

    app = create_base_app(
        settings,
        title="Wijkkracht learning paths",
        description="Modules and long paths, enrolments and homework, placement by measured "
        "phase, consent-gated progress, an xAPI 2.0 learning record store.",
        prefix=PREFIX,
        metrics=runtime.metrics,
        readiness={"nats": runtime.nats_ready, "database": runtime.db_ready},
        lifespan=runtime.lifespan,
        verifier=verifier,
    )
    install_domain_problems(app)
    http_xapi.install(app, PREFIX)
    app.state.runtime = runtime
    app.state.ctx = ctx
    app.state.reminders = app_reminders
    app.state.lrs = lrs
    app.state.lrs_documents = Documents(ctx, home_page=settings.issuer)
    app.state.credential_exchange = credentials or TokenEndpointExchange(
        settings.token_endpoint, app.state.token_verifier
    )
    for router in (
        http_content.router,
        http_learning.router,
        http_staff.router,
        http_placement.router,
        http_groups.router,
    ):
        app.include_router(router, prefix=PREFIX)
    app.include_router(http_xapi.router, prefix=PREFIX, max_body_size=http_xapi.MAX_STATEMENTS_BODY)
    return app
