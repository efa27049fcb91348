"""Erasure across services (see `domain.erasure`): where identity handles erasure.

`request_erasure` is the resident's request: the status is stored, consents are revoked and
`person_erasure_requested` is published in one transaction. `on_data_erased` applies each
producing service's `person_data_erased` once (`messaging.apply_once`): it records the
confirmation and, once every expected service confirmed, erases identity's own personal data
in the same transaction and publishes `person_erasure_completed`. `remind_pending` (a
periodic job) requests an erasure again when a service has not confirmed within
`WK_ERASURE_REMINDER_HOURS`. `purge_streams` (a periodic job) then removes every message
that names the person from the event streams (`stream_purge.purge_person`, once every
consumer acknowledged it) and the person's export objects, until a pass finds nothing left;
then the person's id is forgotten and the erasure reads `completed`. Completion also publishes
`person_disabled`, so every service refuses the person's remaining tokens at once.

What identity erases (deleted, not emptied): the person document, the e-mail claim (the
address may register again), memberships (each ends with `membership_changed` roles=[]),
the consent ledger, login codes, login-failure records and failed-login notices of the
account, refresh tokens and authorization codes (their access tokens deny-listed: the
deny-list holds token ids only), export jobs, stored idempotent responses about the person.
Identity's NEN 7513 log and its projection of every service's log keep their legal
retention, unlinked (`AccessLog.anonymise_resident`). The status is kept under the person's
one-way tombstone, and the tombstone is remembered (`erasure.remember_erased`) so late
events about the person (an access record, an export part, shared answers) are dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from wijkkracht_common import export, stream_purge
from wijkkracht_common.auth import Principal
from wijkkracht_common.erasure import person_tombstone
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.common import PersonDataErasedBase
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import (
    MembershipChanged,
    PersonErasureCompleted,
    PersonErasureRequested,
)
from wijkkracht_common.messaging import Delivery, PermanentError, apply_once
from wijkkracht_common.observability import get_logger
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.adapters.repositories import Repositories
from identity.domain.erasure import ErasureStatus
from identity.domain.people import Person
from identity.domain.roles import Role
from identity.domain.texts import Text
from identity.service.consents import revoke_all
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.exports import export_objects
from identity.service.people import me
from identity.service.permissions import acting_organisation
from identity.service.problems import conflict
from identity.service.revocations import person_disabled

log = get_logger(__name__)

NO_ERASURE = "Er is geen verwijdering aangevraagd. / No erasure was requested."
ERASURE_PENDING = Text(
    "Verwijdering van dit account is al aangevraagd.", "Erasure of this account was requested."
)
REMINDER_ACTOR = "system:identity:erasure-reminder"

E = TypeVar("E", bound=PersonDataErasedBase)


def erasure_key(tenant: str, person_id: str) -> str:
    """Where a person's erasure status is kept: their one-way tombstone, never their id."""
    return person_tombstone(tenant, person_id)


# ---- the resident's request ----------------------------------------------------------------------


async def request_erasure(ctx: Identity, principal: Principal) -> datetime:
    """Marks the person erasure-pending and publishes `person_erasure_requested`; every
    service erases its data on that event. Consents are revoked at once."""
    person, _, pending = await me(ctx, principal)
    if pending is not None:
        raise conflict(ERASURE_PENDING, erasure_requested_at=pending.isoformat())
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[datetime, list[Staged]]:
        within = ctx.within(db, session)
        if not await within.people.mark_erasure_requested(person.id, now):
            raise conflict(ERASURE_PENDING)
        events = await revoke_all(within, principal, person.id, now)
        events.append(
            new_event(
                PersonErasureRequested(person_id=person.id),
                tenant=principal.tenant,
                subject=person.id,
                actor=principal.subject,
            )
        )
        _, completed = await start(ctx, within, person, at=now)
        return now, events + completed

    return await ctx.runtime.commit(principal.tenant, work)


async def start(
    ctx: Identity, within: Repositories, person: Person, *, at: datetime
) -> tuple[ErasureStatus, list[Staged]]:
    """Store the status (inside the request's transaction). With no expected services the
    erasure completes at once."""
    status = ErasureStatus.requested(
        person.id,
        key=erasure_key(person.tenant, person.id),
        at=at,
        expected=ctx.settings.erasure_expected_services,
    )
    events: list[Staged] = []
    if status.all_confirmed:
        status, events = await _complete(within, status, person.tenant, person.id, person, at)
    await within.erasures.save(status)
    return status, events


# ---- reading the status ------------------------------------------------------------------------


async def status_of(ctx: Identity, tenant: str, person_id: str) -> ErasureStatus:
    found = await (await ctx.tenant(tenant)).erasures.get(erasure_key(tenant, person_id))
    if found is None:
        raise NotFound(NO_ERASURE)
    return found


async def own_status(ctx: Identity, principal: Principal) -> ErasureStatus:
    """The resident's own view, readable until the erasure completes (then the account is
    gone and this is 404, like /me)."""
    repos = await ctx.tenant(principal.tenant)
    person = None if principal.person_id is None else await repos.people.get(principal.person_id)
    if person is None or not person.is_active:
        raise NotFound(NOT_FOUND)
    return await status_of(ctx, principal.tenant, person.id)


async def status_for_admin(ctx: Identity, principal: Principal, person_id: str) -> ErasureStatus:
    """A tenant admin's read (also after completion); the read is access-logged. Once
    identity's data is erased the record names the status's tombstone, not the id asked
    for (nothing may name the person again)."""
    status = await status_of(ctx, principal.tenant, person_id)
    resident = status.key if status.is_complete else person_id
    await (await ctx.tenant(principal.tenant)).access_log.record(
        principal,
        resident=resident,
        action="read",
        resource=f"erasure/{resident}",
        reason="erasure_administration",
        on_behalf_of=acting_organisation(principal, Role.TENANT_ADMIN),
    )
    ctx.runtime.notify_relay()
    return status


# ---- the services' confirmations -----------------------------------------------------------------


async def on_data_erased(ctx: Identity, envelope: Envelope[E], delivery: Delivery) -> bool:
    """Consumer of every producer's `person_data_erased`, applied once per event."""

    async def effect(db: Db, session: Session) -> list[Staged]:
        return await record_confirmation(ctx, ctx.within(db, session), envelope)

    applied = await apply_once(ctx.runtime, envelope, delivery, effect)
    if applied:
        log.info(
            "erasure confirmed",
            service=type(envelope.data).producer,
            person_id=envelope.data.person_id,
        )
    return applied


async def record_confirmation(
    ctx: Identity, within: Repositories, envelope: Envelope[E]
) -> list[Staged]:
    """Record one service's confirmation; the last expected one completes the erasure.
    A confirmation nobody asked for can never apply (PermanentError: dead-lettered)."""
    data = envelope.data
    status = await within.erasures.get(erasure_key(envelope.tenant, data.person_id))
    person = await within.people.get(data.person_id)
    if status is None:
        status = await _legacy_status(ctx, within, envelope.tenant, data.person_id)
    status = status.confirm(
        type(data).producer,
        event_id=envelope.id,
        at=envelope.time,
        erased=data.erased,
        anonymised=data.anonymised,
    )
    events: list[Staged] = []
    if status.all_confirmed and not status.is_complete:
        status, events = await _complete(
            within, status, envelope.tenant, data.person_id, person, ctx.now()
        )
    await within.erasures.save(status)
    return events


async def _legacy_status(
    ctx: Identity, within: Repositories, tenant: str, person_id: str
) -> ErasureStatus:
    """A confirmation for an erasure requested before statuses were kept: rebuild it from
    the person's `erasure_requested_at`; a confirmation nobody asked for is dead-lettered."""
    requested_at = await within.people.erasure_requested_at(person_id)
    if requested_at is None:
        raise PermanentError("no erasure was requested for this person")
    return ErasureStatus.requested(
        person_id,
        key=erasure_key(tenant, person_id),
        at=requested_at,
        expected=ctx.settings.erasure_expected_services,
    )


# ---- reminders -----------------------------------------------------------------------------------


async def remind_pending(ctx: Identity) -> int:
    """Request every overdue erasure again (all tenants); returns how many."""
    every = timedelta(hours=ctx.settings.erasure_reminder_hours)
    reminded = 0
    for tenant in await ctx.runtime.storage.tenants():
        repos = await ctx.tenant(tenant)
        now = ctx.now()
        overdue = [s for s in await repos.erasures.incomplete() if s.reminder_due(now, every)]
        for status in overdue:
            if status.person_id is not None:
                reminded += await _remind(ctx, tenant, status.person_id, every)
    return reminded


async def _remind(ctx: Identity, tenant: str, person_id: str, every: timedelta) -> int:
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[ErasureStatus | None, list[Staged]]:
        erasures = ctx.within(db, session).erasures
        status = await erasures.get(erasure_key(tenant, person_id))
        if status is None or not status.reminder_due(now, every):
            return None, []  # confirmed meanwhile
        status = status.reminded(now)
        await erasures.save(status)
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


# ---- identity's own data -----------------------------------------------------------------------


async def _complete(
    within: Repositories,
    status: ErasureStatus,
    tenant: str,
    person_id: str,
    person: Person | None,
    now: datetime,
) -> tuple[ErasureStatus, list[Staged]]:
    memberships = await within.memberships.of_person(person_id)
    objects = await erase_person_data(within, tenant, person_id, person, now)
    events: list[Staged] = [
        new_event(
            MembershipChanged(person_id=person_id, organisation_slug=m.organisation, roles=[]),
            tenant=tenant,
            subject=person_id,
            actor=person_id,
            organisation=m.organisation,
        )
        for m in memberships
    ]
    # Tokens still held for the erased person are refused everywhere, not only here.
    events.append(person_disabled(tenant, person_id, actor=person_id, now=now))
    done = status.completed(now, export_objects=objects)
    events.append(
        new_event(
            PersonErasureCompleted(person_id=person_id, services=sorted(done.confirmed_services)),
            tenant=tenant,
            subject=person_id,
            actor=person_id,
        )
    )
    return done, events


async def erase_person_data(
    within: Repositories, tenant: str, person_id: str, person: Person | None, now: datetime
) -> list[str]:
    """Everything identity holds about the person, in the caller's transaction; returns the
    names of the person's export objects (deleted outside the database by `purge_streams`)."""
    email = None if person is None else person.email
    await within.people.delete(person_id)
    for account in [a for a in (email, person_id) if a is not None]:
        await within.login_failures.forget_account(account)
        await within.login_notices.forget(account)
    if email is not None:
        await within.people.release_email(email)
    await within.memberships.delete_of_person(person_id)
    await within.login_codes.delete_of_person(person_id)
    for jti, expires in await within.grants.delete_of_subject(person_id):
        await within.grants.deny(jti, expires)
    await within.consents.delete(person_id)
    await within.access_log.anonymise_resident(person_id)
    await within.idempotency.delete_about(person_id)
    jobs = await within.exports.delete_of_person(person_id)
    await within.erased_persons.remember(tenant, person_id)
    return sorted({name for job in jobs for name in export_objects(tenant, job)})


# ---- the streams, after completion -----------------------------------------------------------


async def purge_streams(ctx: Identity) -> int:
    """One pass over every completed erasure whose person may still be in the streams;
    returns how many were found clean (and forgotten)."""
    forgotten = 0
    for tenant in await ctx.runtime.storage.tenants():
        for status in await (await ctx.tenant(tenant)).erasures.awaiting_purge():
            forgotten += await _purge(ctx, tenant, status)
    return forgotten


async def _purge(ctx: Identity, tenant: str, status: ErasureStatus) -> int:
    person_id = status.person_id
    assert person_id is not None  # awaiting_purge
    js = ctx.runtime.js
    # Parts a service stored after the erasure (its answer was dropped) go too.
    await export.delete_parts(js, status.export_objects)
    result = await stream_purge.purge_person(js, tenant, person_id)
    if result.deleted or result.deferred:
        log.info(
            "erasure: stream messages purged",
            tenant=tenant,
            deleted=result.deleted,
            deferred=result.deferred,
        )
        return 0
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[bool, list[Staged]]:
        within = ctx.within(db, session)
        current = await within.erasures.get(status.key)
        if current is None or not current.awaits_purge:
            return False, []
        # Before the id is forgotten: an access record written while the erasure completed
        # (a staff read racing the completion) is unlinked too.
        await within.access_log.anonymise_resident(person_id)
        await within.erasures.save(current.forgotten(now))
        return True, []

    done: bool = await ctx.runtime.commit(tenant, work)
    if done:
        log.info("erasure completed: nothing left in the streams", tenant=tenant)
    return int(done)
