"""Consents this service kept in its own projection before the platform's one
(`wijkkracht_common.consent`): moved over, so a professional who saw a resident's
trajectories before the switch still does.

A background job (`WK_ADOPT_LEGACY_CONSENTS`, on by default): its first pass runs at start-up
and moves each tenant's former states in one transaction (a newer state already in the
platform's projection wins; an erased person's states are only deleted); later passes, hourly,
catch states a replica of the previous release wrote meanwhile and otherwise cost one short
transaction per tenant. Remove it, with the `consents` collection, once every deployment has
run it.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.observability import get_logger
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.service.ports import Db, RepositoryFactory, Runtime, reading

log = get_logger(__name__)


async def adopt(
    runtime: Runtime, tenant: str, *, repositories: RepositoryFactory = MotorRepositories
) -> int:
    """Move one tenant's former consent states; returns how many were moved."""
    if not await (await reading(runtime, tenant, repositories)).consents.has_legacy():
        return 0  # the usual case once moved: no transaction

    async def work(db: Db, session: Session) -> tuple[int, list[Envelope[Any]]]:
        return await repositories(db, session, tenant).consents.adopt_legacy(tenant), []

    return await runtime.commit(tenant, work)


def adopter(runtime: Runtime, period: float = 3600.0) -> PeriodicTask:
    async def run() -> None:
        for tenant in await runtime.storage.tenants():
            moved = await adopt(runtime, tenant)
            if moved:
                log.info("former consent states moved", tenant=tenant, moved=moved)

    return PeriodicTask("legacy-consents", run, period)
