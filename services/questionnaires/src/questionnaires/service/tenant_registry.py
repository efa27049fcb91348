"""Which tenants this service serves: identity's `tenant_created` registers a tenant (in the
platform database) and publishes the shipped instruments there; anonymous routes accept only
known tenants."""

from __future__ import annotations

from wijkkracht_common.outbox import Staged
from wijkkracht_common.tenancy import PLATFORM_TENANT, is_valid_slug

from questionnaires.adapters.repositories import Effect, Repositories
from questionnaires.service.context import Context
from questionnaires.service.problems import not_found


def tenant_created(ctx: Context, tenant: str) -> Effect:
    """The effect on the platform database (applied once by the consumer); the consumer
    then publishes the shipped instruments (`instruments.ensure_tenant`, idempotent)."""

    async def effect(repos: Repositories) -> list[Staged]:
        await repos.tenants.register(tenant, ctx.now())
        return []

    return effect


async def is_known(ctx: Context, tenant: str) -> bool:
    """Registered by identity's `tenant_created`, or already in use in this service."""
    if tenant in ctx.seeded_tenants:
        return True
    if await (await ctx.reader(PLATFORM_TENANT)).tenants.is_registered(tenant):
        return True
    return tenant in await ctx.uow.tenants()


async def require_known(ctx: Context, tenant: str) -> str:
    """A tenant named by a path (anonymous routes): a valid slug of a known tenant, else 404."""
    if tenant == PLATFORM_TENANT or not is_valid_slug(tenant) or not await is_known(ctx, tenant):
        raise not_found("Omgeving")
    return tenant


__all__ = ["is_known", "require_known", "tenant_created"]
