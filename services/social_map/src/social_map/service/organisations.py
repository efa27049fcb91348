"""Owner records of entries: an org admin keeps its own organisation's record, the
neighbourhood manager anyone's (residents' initiatives included)."""

from __future__ import annotations

from wijkkracht_common.auth import Principal

from social_map.domain.model import Organization
from social_map.service import permissions
from social_map.service.context import ServiceContext


async def list_organisations(ctx: ServiceContext, principal: Principal) -> list[Organization]:
    orgs = await (await ctx.reader(principal.tenant)).organisations()
    return sorted(orgs.values(), key=lambda o: o.id)


async def put_organisation(
    ctx: ServiceContext, principal: Principal, org_id: str, org: Organization
) -> Organization:
    """Create or replace a record; the caller must manage it before and after."""
    reader = await ctx.reader(principal.tenant)
    old = await reader.get_organisation(org_id)
    if old is not None:
        permissions.require_manage(principal, old.tenant_org_slug)
    permissions.require_manage(principal, org.tenant_org_slug)
    record = org.model_copy(update={"id": org_id})
    await reader.save_organisation(record)
    return record
