"""A professional's caseload: residents who currently consent to the organisation, each
listing access-logged (NEN 7513) so the resident reads it in `/me/access-log`."""

from __future__ import annotations

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.domain.caseload import CASELOAD_ROLES, CaseloadEntry, caseload_entry
from identity.domain.consent import ConsentPurpose
from identity.service.context import NOT_FOUND, Db, Identity

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
    people = await repos.people.get_many([ledger.person_id for ledger in ledgers])
    entries = [
        entry
        for ledger in ledgers
        if (person := people.get(ledger.person_id)) is not None
        and (entry := caseload_entry(person, ledger, organisation, purpose)) is not None
    ]

    async def log(db: Db, session: Session) -> tuple[None, list[Staged]]:
        # One transaction and two writes for the page's records, not two per resident.
        await ctx.within(db, session).access_log.record_many(
            principal,
            residents=[entry.id for entry in entries if entry.id != principal.person_id],
            action="list",
            resource=f"caseload/{organisation}",
            reason=CASELOAD_REASON,
            on_behalf_of=organisation,
        )
        return None, []

    if entries:
        await ctx.runtime.commit(principal.tenant, log)
        ctx.runtime.notify_relay()
    return entries, next_cursor
