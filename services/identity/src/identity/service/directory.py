"""Tenants (platform operators), organisations and teams (tenant admins)."""

from __future__ import annotations

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import OrganisationCreated, TenantCreated
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session, is_duplicate_key

from identity.adapters.repositories import Repositories
from identity.domain.slugs import PLATFORM_TENANT
from identity.domain.tenancy import Organisation, OrganisationKind, Team, Tenant, create_tenant
from identity.domain.texts import Text
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.permissions import require_manager
from identity.service.problems import conflict

__all__ = [
    "OrganisationKind",
    "create_organisation",
    "create_team",
    "ensure_tenant",
    "get_organisation",
    "list_organisations",
    "list_teams",
    "list_tenants",
    "register_tenant",
    "require_organisation",
]

TENANT_EXISTS = Text("Deze tenant bestaat al.", "This tenant already exists.")
ORG_EXISTS = Text("Deze organisatie bestaat al.", "This organisation already exists.")
TEAM_EXISTS = Text("Dit team bestaat al.", "This team already exists.")


async def register_tenant(
    ctx: Identity, *, slug: str, name: str, actor: str, k_anonymity: int = 10
) -> Tenant:
    """The registry row and `tenant_created` are committed together in the platform database
    (its outbox); the event's tenant is the new tenant, so its subject names it."""
    tenant = create_tenant(slug, name, ctx.now())
    # Create the tenant database and its collections now, before the commit wakes the outbox
    # relay, so the relay never lists a database whose collections are still being created.
    await ctx.tenant_db(slug)

    async def work(db: Db, session: Session) -> tuple[Tenant, list[Staged]]:
        await ctx.within(db, session).tenants.add(tenant)
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
    existing = await (await ctx.platform()).tenants.get(slug)
    return existing or await register_tenant(ctx, slug=slug, name=name, actor=actor)


async def list_tenants(
    ctx: Identity, *, limit: int, cursor: str | None
) -> tuple[list[Tenant], str | None]:
    return await (await ctx.platform()).tenants.page(limit=limit, cursor=cursor)


async def create_organisation(
    ctx: Identity, tenant: str, *, slug: str, name: str, kind: OrganisationKind, actor: str
) -> Organisation:
    org = Organisation(tenant=tenant, slug=slug, name=name.strip(), kind=kind, created_at=ctx.now())

    async def work(db: Db, session: Session) -> tuple[Organisation, list[Staged]]:
        await ctx.within(db, session).organisations.add(org)
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


async def require_organisation(repos: Repositories, slug: str) -> Organisation:
    org = await repos.organisations.get(slug)
    if org is None:
        raise NotFound(NOT_FOUND)
    return org


async def get_organisation(ctx: Identity, principal: Principal, slug: str) -> Organisation:
    return await require_organisation(await ctx.tenant(principal.tenant), slug)


async def list_organisations(
    ctx: Identity, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[Organisation], str | None]:
    repos = await ctx.tenant(principal.tenant)
    return await repos.organisations.page(limit=limit, cursor=cursor)


async def create_team(
    ctx: Identity, principal: Principal, *, organisation: str, slug: str, name: str
) -> Team:
    repos = await ctx.tenant(principal.tenant)
    await require_organisation(repos, organisation)
    require_manager(principal, organisation)
    team = Team(tenant=principal.tenant, organisation=organisation, slug=slug, name=name.strip())
    try:
        await repos.organisations.add_team(team)
    except Exception as error:
        if is_duplicate_key(error):
            raise conflict(TEAM_EXISTS) from error
        raise
    return team


async def list_teams(
    ctx: Identity, principal: Principal, organisation: str, *, limit: int, cursor: str | None
) -> tuple[list[Team], str | None]:
    repos = await ctx.tenant(principal.tenant)
    await require_organisation(repos, organisation)
    return await repos.organisations.teams_page(organisation, limit=limit, cursor=cursor)
