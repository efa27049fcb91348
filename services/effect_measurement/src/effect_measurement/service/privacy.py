"""Use cases on a tenant's privacy settings: k (tenant admins) and which organisations are
named in benchmarks (each organisation's admins). Changes go through `runtime.commit`."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.policy import PrivacyPolicy, PrivacySettings
from effect_measurement.service import access
from effect_measurement.service.ports import Db, RepositoryFactory, Runtime, reading


async def privacy_settings(
    runtime: Runtime, tenant: str, *, repositories: RepositoryFactory = MotorRepositories
) -> PrivacySettings:
    settings, _ = await (await reading(runtime, tenant, repositories)).settings.privacy()
    return settings


async def change_k(
    runtime: Runtime,
    principal: Principal,
    k: int,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> PrivacySettings:
    """The tenant's minimum group size (never below the floor: `PrivacyPolicy` refuses)."""
    policy = PrivacyPolicy(k)

    async def work(db: Db, session: Session) -> tuple[None, list[Envelope[Any]]]:
        await repositories(db, session, principal.tenant).settings.set_k(policy.k)
        return None, []

    await runtime.commit(principal.tenant, work)
    return await privacy_settings(runtime, principal.tenant, repositories=repositories)


async def name_in_benchmarks(
    runtime: Runtime,
    principal: Principal,
    organisation: str,
    named: bool,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> None:
    """An organisation opts in (or out) to be named instead of "Organisatie A"."""
    access.require_org_admin(principal, organisation)

    async def work(db: Db, session: Session) -> tuple[None, list[Envelope[Any]]]:
        await repositories(db, session, principal.tenant).settings.set_named(organisation, named)
        return None, []

    await runtime.commit(principal.tenant, work)
