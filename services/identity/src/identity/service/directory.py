"""Tenants (platform operators), organisations and teams (tenant admins)."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import OrganisationCreated, TenantCreated
from wijkkracht_common.storage import is_duplicate_key

from identity.adapters import repositories as repo
from identity.domain.slugs import PLATFORM_TENANT
from identity.domain.tenancy import Organisation, OrganisationKind, Team, Tenant, create_tenant
from identity.domain.texts import Text
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.problems import conflict

TENANT_EXISTS = Text("Deze tenant bestaat al.", "This tenant already exists.")
ORG_EXISTS = Text("Deze organisatie bestaat al.", "This organisation already exists.")
TEAM_EXISTS = Text("Dit team bestaat al.", "This team already exists.")


async def register_tenant(
    ctx: Identity, *, slug: str, name: str, actor: str, k_anonymity: int = 10
) -> Tenant:
    """The registry row and `tenant_created` are committed together in the platform database
    (its outbox); the event's tenant is the new tenant, so its subject names it."""
    tenant = create_tenant(slug, name, ctx.now())
    # Create the tenant database and its indexes now, before the commit wakes the outbox
    # relay: nx-27017 can fail ("returned NULL without setting an exception") when a new
    # database's first collections are opened while the relay lists databases.
    await ctx.tenant_db(slug)

    async def work(db: Db, session: Any) -> tuple[Tenant, list[Envelope[Any]]]:
        await repo.insert_tenant(db, tenant, session=session)
        event = new_event(
            TenantCreated(tenant_slug=slug, k_anonymity=k_anonymity),
            tenant=slug,
            subject=slug,
            actor=actor,
        )
        return tenant, [event]

    try:
        return await ctx.runtime.commit(PLATFORM_TENANT, work)
    except Exception as error:
        if is_duplicate_key(error):
            raise conflict(TENANT_EXISTS) from error
        raise


async def ensure_tenant(ctx: Identity, slug: str, name: str, actor: str) -> Tenant:
    existing = await repo.get_tenant(await ctx.platform_db(), slug)
    return existing or await register_tenant(ctx, slug=slug, name=name, actor=actor)


async def create_organisation(
    ctx: Identity, tenant: str, *, slug: str, name: str, kind: OrganisationKind, actor: str
) -> Organisation:
    org = Organisation(tenant=tenant, slug=slug, name=name.strip(), kind=kind, created_at=ctx.now())

    async def work(db: Db, session: Any) -> tuple[Organisation, list[Envelope[Any]]]:
        await repo.insert_organisation(db, org, session=session)
        event = new_event(
            OrganisationCreated(organisation_slug=slug, kind=kind.value),
            tenant=tenant,
            subject=slug,
            actor=actor,
            organisation=slug,
        )
        return org, [event]

    try:
        return await ctx.runtime.commit(tenant, work)
    except Exception as error:
        if is_duplicate_key(error):
            raise conflict(ORG_EXISTS) from error
        raise


async def require_organisation(db: Db, slug: str) -> Organisation:
    org = await repo.get_organisation(db, slug)
    if org is None:
        raise NotFound(NOT_FOUND)
    return org


async def create_team(
    ctx: Identity, principal: Principal, *, organisation: str, slug: str, name: str
) -> Team:
    db = await ctx.tenant_db(principal.tenant)
    await require_organisation(db, organisation)
    team = Team(tenant=principal.tenant, organisation=organisation, slug=slug, name=name.strip())
    try:
        await repo.insert_team(db, team, session=None)
    except Exception as error:
        if is_duplicate_key(error):
            raise conflict(TEAM_EXISTS) from error
        raise
    return team
