"""A professional's caseload: residents who currently consent to the organisation, each
listing access-logged (NEN 7513) so the resident reads it in `/me/access-log`."""

from __future__ import annotations

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound

from identity.domain.caseload import CASELOAD_ROLES, CaseloadEntry, caseload_entry
from identity.domain.consent import ConsentPurpose
from identity.service.context import NOT_FOUND, Identity

CASELOAD_REASON = "caseload"


def require_caseload_role(principal: Principal, organisation: str) -> None:
    """Professional, org admin or broker of `organisation`; anyone else (another organisation,
    another tenant, a tenant admin without such a role) learns nothing: 404."""
    if not principal.roles_in(organisation) & CASELOAD_ROLES:
        raise NotFound(NOT_FOUND)


async def caseload(
    ctx: Identity,
    principal: Principal,
    organisation: str,
    purpose: ConsentPurpose | None,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[CaseloadEntry], str | None]:
    require_caseload_role(principal, organisation)
    repos = await ctx.tenant(principal.tenant)
    if await repos.organisations.get(organisation) is None:
        raise NotFound(NOT_FOUND)
    ledgers, next_cursor = await repos.consents.page_granting(
        organisation, purpose, limit=limit, cursor=cursor
    )
    entries: list[CaseloadEntry] = []
    for ledger in ledgers:
        person = await repos.people.get(ledger.person_id)
        entry = None if person is None else caseload_entry(person, ledger, organisation, purpose)
        if entry is None:
            continue
        if entry.id != principal.person_id:
            await repos.access_log.record(
                principal,
                resident=entry.id,
                action="list",
                resource=f"caseload/{organisation}",
                reason=CASELOAD_REASON,
                on_behalf_of=organisation,
            )
        entries.append(entry)
    ctx.runtime.notify_relay()
    return entries, next_cursor
