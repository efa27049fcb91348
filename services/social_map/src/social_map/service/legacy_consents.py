"""Consents the social map kept in its own projection before the platform's one
(`wijkkracht_common.consent`): moved over once, so a professional who could see a resident's
recommendations before the switch still can.

A lifespan job (`WK_ADOPT_LEGACY_CONSENTS`): its first pass runs at start-up and moves each
tenant's former states in one transaction (a newer state already in the platform's projection
wins; an erased person's states are only deleted); later passes, hourly, catch states a
replica of the previous release wrote meanwhile and otherwise cost one short transaction per
tenant. Remove it, with the `consents` collection, once every deployment has run it.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.observability import get_logger
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.service.context import ServiceContext

log = get_logger(__name__)


async def adopt(ctx: ServiceContext, tenant: str) -> int:
    """Move one tenant's former consent states; returns how many were moved."""

    async def work(db: repo.Db, session: Session) -> tuple[int, list[Any]]:
        return await ctx.repo(db, session).adopt_legacy_consents(tenant), []

    return await ctx.runtime.commit(tenant, work)


def adopter(ctx: ServiceContext, period: float = 3600.0) -> PeriodicTask:
    async def run() -> None:
        for tenant in await ctx.runtime.storage.tenants():
            moved = await adopt(ctx, tenant)
            if moved:
                log.info("former consent states moved", tenant=tenant, moved=moved)

    return PeriodicTask("legacy-consents", run, period)
