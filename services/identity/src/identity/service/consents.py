"""Consent per organisation and purpose, with history (the ledger is one document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import ConsentGranted, ConsentRevoked

from identity.adapters import repositories as repo
from identity.domain.consent import ConsentAction, ConsentEntry, ConsentLedger, ConsentPurpose
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.people import me


def _event(principal: Principal, person_id: str, entry: ConsentEntry) -> Envelope[Any]:
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
    return await repo.get_ledger(await ctx.tenant_db(principal.tenant), person.id)


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
    db = await ctx.tenant_db(principal.tenant)
    if await repo.get_organisation(db, organisation) is None:
        raise NotFound(NOT_FOUND)
    now = ctx.now()

    async def work(db: Db, session: Any) -> tuple[tuple[ConsentLedger, bool], list[Any]]:
        ledger = await repo.get_ledger(db, person.id)
        change_fn = ledger.grant if grant else ledger.revoke
        ledger, entry = change_fn(organisation, purpose, by=principal.subject, at=now)
        if entry is None:
            return (ledger, False), []
        await repo.save_ledger(db, ledger, session=session)
        return (ledger, True), [_event(principal, person.id, entry)]

    return await ctx.runtime.commit(principal.tenant, work)


async def revoke_all_events(
    db: Db, principal: Principal, person_id: str, now: datetime, *, session: Any
) -> list[Envelope[Any]]:
    ledger = await repo.get_ledger(db, person_id)
    ledger, changes = ledger.revoke_all(by=principal.subject, at=now)
    if changes:
        await repo.save_ledger(db, ledger, session=session)
    return [_event(principal, person_id, entry) for entry in changes]
