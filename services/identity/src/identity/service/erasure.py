"""Erasure across services (see `domain.erasure`).

`start` runs inside the erasure request's transaction. `confirmation_handler` is the
consumer of each producing service's `person_data_erased`: it records the confirmation and,
once every expected service confirmed, erases identity's own personal data in the same
transaction and publishes `person_erasure_completed`. `remind_pending` (a periodic job)
requests an erasure again when a service has not confirmed within
`WK_ERASURE_REMINDER_HOURS`: a new `person_erasure_requested` (services erase idempotently
and confirm again), logged as a warning with the services still missing.

What identity erases: name, e-mail (and its claim, so the address can register again),
password hash, PC4/neighbourhood, birth year, household, memberships (each ends with
`membership_changed` roles=[]), login codes, login-failure records keyed by the e-mail,
stored idempotent responses about the person, the access-log projection (a copy; every
service keeps its own NEN 7513 log) and every refresh-token family (revoked, their access
tokens deny-listed). Kept: the person document as a tombstone with the pseudonymous id
(status `erased`, so ids in past events still resolve to "erased"), the erasure status, and
the consent history, anonymised (see `ConsentLedger.anonymised`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from wijkkracht_common import inbox
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.common import PersonDataErasedBase
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.identity import (
    MembershipChanged,
    PersonErasureCompleted,
    PersonErasureRequested,
)
from wijkkracht_common.idempotency import IDEMPOTENCY
from wijkkracht_common.messaging import Delivery, PermanentError
from wijkkracht_common.observability import get_logger

from identity.adapters import repositories as repo
from identity.adapters import schema as c
from identity.adapters.documents import restore_datetimes
from identity.domain.erasure import ErasureStatus
from identity.domain.people import Person
from identity.service.context import Db, Identity

log = get_logger(__name__)

NO_ERASURE = "Er is geen verwijdering aangevraagd. / No erasure was requested."


async def start(
    ctx: Identity, db: Db, person: Person, *, at: Any, session: Any
) -> tuple[ErasureStatus, list[Envelope[Any]]]:
    """Store the status (inside the request's transaction). With no expected services the
    erasure completes at once."""
    status = ErasureStatus.requested(
        person.id, at=at, expected=ctx.settings.erasure_expected_services
    )
    events: list[Envelope[Any]] = []
    if status.all_confirmed:
        status, events = await _complete(db, status, person, at, session=session)
    await repo.save_erasure(db, status, session=session)
    return status, events


async def status_of(ctx: Identity, tenant: str, person_id: str) -> ErasureStatus:
    found = await repo.get_erasure(await ctx.tenant_db(tenant), person_id)
    if found is None:
        raise NotFound(NO_ERASURE)
    return found


async def own_status(ctx: Identity, principal: Principal) -> ErasureStatus:
    """The resident's own view, readable until the erasure completes (then the account is
    gone and this is 404, like /me)."""
    db = await ctx.tenant_db(principal.tenant)
    person = None if principal.person_id is None else await repo.get_person(db, principal.person_id)
    if person is None or not person.is_active:
        raise NotFound("Niet gevonden. / Not found.")
    return await status_of(ctx, principal.tenant, person.id)


def confirmation_handler(ctx: Identity) -> Any:
    async def handle(envelope: Envelope[PersonDataErasedBase], delivery: Delivery) -> bool:
        data = envelope.data
        service = type(data).producer
        tenant = envelope.tenant

        async def work(db: Db, session: Any) -> tuple[bool, list[Envelope[Any]]]:
            if not await inbox.claim(db, delivery.durable, envelope.id, session=session):
                return False, []
            status = await repo.get_erasure(db, data.person_id)
            person = await repo.get_person(db, data.person_id)
            if status is None:
                status = await _legacy_status(ctx, db, data.person_id)
            status = status.confirm(
                service,
                event_id=envelope.id,
                at=envelope.time,
                erased=data.erased,
                anonymised=data.anonymised,
            )
            events: list[Envelope[Any]] = []
            if status.all_confirmed and not status.is_complete and person is not None:
                status, events = await _complete(db, status, person, ctx.now(), session=session)
            await repo.save_erasure(db, status, session=session)
            return True, events

        applied: bool = await ctx.runtime.commit(tenant, work)
        if applied:
            log.info("erasure confirmed", service=service, person_id=data.person_id)
        return applied

    return handle


REMINDER_ACTOR = "system:identity:erasure-reminder"


async def remind_pending(ctx: Identity) -> int:
    """Request every overdue erasure again (all tenants); returns how many."""
    every = timedelta(hours=ctx.settings.erasure_reminder_hours)
    reminded = 0
    for tenant in await ctx.runtime.storage.tenants():
        db = await ctx.tenant_db(tenant)
        now = ctx.now()
        overdue = [
            status
            for doc in await db[c.ERASURES].find({"completed_at": None}).to_list(None)
            if (status := repo.erasure_from_doc(doc)) is not None
            and status.reminder_due(now, every)
        ]
        for status in overdue:
            reminded += await _remind(ctx, tenant, status.person_id, every)
    return reminded


async def _remind(ctx: Identity, tenant: str, person_id: str, every: timedelta) -> int:
    now = ctx.now()

    async def work(db: Db, session: Any) -> tuple[ErasureStatus | None, list[Envelope[Any]]]:
        status = await repo.get_erasure(db, person_id, session=session)
        if status is None or not status.reminder_due(now, every):
            return None, []  # confirmed meanwhile
        status = status.reminded(now)
        await repo.save_erasure(db, status, session=session)
        return status, [
            new_event(
                PersonErasureRequested(person_id=person_id),
                tenant=tenant,
                subject=person_id,
                actor=REMINDER_ACTOR,
            )
        ]

    reminded: ErasureStatus | None = await ctx.runtime.commit(tenant, work)
    if reminded is None:
        return 0
    log.warning(
        "erasure still pending: requested again",
        tenant=tenant,
        person_id=person_id,
        pending=list(reminded.pending_services),
        reminders=reminded.reminders,
        requested_at=reminded.requested_at.isoformat(),
    )
    return 1


async def _legacy_status(ctx: Identity, db: Db, person_id: str) -> ErasureStatus:
    """A confirmation for an erasure requested before statuses were kept: rebuild it from
    the person's `erasure_requested_at`; a confirmation nobody asked for is dead-lettered."""
    raw = await db[c.PEOPLE].find_one({"_id": person_id}, projection={"erasure_requested_at": 1})
    requested_at = restore_datetimes(raw or {}).get("erasure_requested_at")
    if requested_at is None:
        raise PermanentError(f"no erasure was requested for person {person_id}")
    return ErasureStatus.requested(
        person_id, at=requested_at, expected=ctx.settings.erasure_expected_services
    )


async def _complete(
    db: Db, status: ErasureStatus, person: Person, now: Any, *, session: Any
) -> tuple[ErasureStatus, list[Envelope[Any]]]:
    events: list[Envelope[Any]] = []
    if person.is_active:
        memberships = await repo.memberships_of(db, person.id)
        await erase_person_data(db, person, now, session=session)
        events += [
            new_event(
                MembershipChanged(person_id=person.id, organisation_slug=m.organisation, roles=[]),
                tenant=person.tenant,
                subject=person.id,
                actor=person.id,
                organisation=m.organisation,
            )
            for m in memberships
        ]
    done = status.completed(now)
    events.append(
        new_event(
            PersonErasureCompleted(person_id=person.id, services=sorted(done.confirmed_services)),
            tenant=person.tenant,
            subject=person.id,
            actor=person.id,
        )
    )
    return done, events


async def erase_person_data(db: Db, person: Person, now: Any, *, session: Any) -> None:
    await repo.replace_person_with_tombstone(db, person.erased(), erased_at=now, session=session)
    if person.email is not None:
        await repo.release_email(db, person.email, session=session)
        await db[c.LOGIN_FAILURES].delete_many({"key": f"account:{person.email}"}, session=session)
    await repo.delete_memberships_of(db, person.id, session=session)
    await db[c.LOGIN_CODES].delete_many({"person_id": person.id}, session=session)
    await _revoke_refresh_tokens(db, person.id, now, session=session)
    ledger = await repo.get_ledger(db, person.id)
    await db[c.CONSENTS].delete_one({"_id": person.id}, session=session)
    if ledger.entries:
        await repo.save_ledger(db, ledger.anonymised(f"erased-{new_event_id()}"), session=session)
    await db[c.ACCESS_PROJECTION].delete_many({"resident": person.id}, session=session)
    await db[IDEMPOTENCY].delete_many({"body.id": person.id}, session=session)


async def _revoke_refresh_tokens(db: Db, person_id: str, now: Any, *, session: Any) -> None:
    families: Iterable[str] = {
        str(doc["family_id"])
        async for doc in db[c.REFRESH_TOKENS].find(
            {"subject": person_id}, projection={"family_id": 1}, session=session
        )
    }
    for family in sorted(families):
        for jti, expires in await repo.revoke_family(
            db, family, now, "person_erased", session=session
        ):
            await repo.deny_jti(db, jti, expires, session=session)
