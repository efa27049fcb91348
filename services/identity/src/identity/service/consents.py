"""Consent per organisation and purpose, with history (the ledger is one document)."""

from __future__ import annotations

from datetime import datetime

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import ConsentGranted, ConsentRevoked
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.adapters.repositories import Repositories
from identity.domain.consent import ConsentAction, ConsentEntry, ConsentLedger, ConsentPurpose
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.people import me


def _event(principal: Principal, person_id: str, entry: ConsentEntry) -> Staged:
    cls = ConsentGranted if entry.action is ConsentAction.GRANTED else ConsentRevoked
    return new_event(
        cls(person_id=person_id, organisation_slug=entry.organisation, purpose=entry.purpose.value),
        tenant=principal.tenant,
        subject=person_id,
        actor=principal.subject,
        organisation=entry.organisation,
    )


async def ledger_of(ctx: Identity, principal: Principal) -> ConsentLedger:
    person, _, _ = await me(ctx, principal)
    return await (await ctx.tenant(principal.tenant)).consents.get(person.id)


async def change_consent(
    ctx: Identity,
    principal: Principal,
    organisation: str,
    purpose: ConsentPurpose,
    *,
    grant: bool,
) -> tuple[ConsentLedger, bool]:
    """Grant or revoke; returns the ledger and whether anything changed (no event if not)."""
    person, _, _ = await me(ctx, principal)
    if await (await ctx.tenant(principal.tenant)).organisations.get(organisation) is None:
        raise NotFound(NOT_FOUND)
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[tuple[ConsentLedger, bool], list[Staged]]:
        consents = ctx.within(db, session).consents
        ledger = await consents.get(person.id)
        change_fn = ledger.grant if grant else ledger.revoke
        ledger, entry = change_fn(organisation, purpose, by=principal.subject, at=now)
        if entry is None:
            return (ledger, False), []
        await consents.save(ledger)
        return (ledger, True), [_event(principal, person.id, entry)]

    return await ctx.runtime.commit(principal.tenant, work)


async def revoke_all(
    within: Repositories, principal: Principal, person_id: str, now: datetime
) -> list[Staged]:
    """Inside the caller's transaction: revoke every current grant; the events to stage."""
    ledger = await within.consents.get(person_id)
    ledger, changes = ledger.revoke_all(by=principal.subject, at=now)
    if changes:
        await within.consents.save(ledger)
    return [_event(principal, person_id, entry) for entry in changes]
