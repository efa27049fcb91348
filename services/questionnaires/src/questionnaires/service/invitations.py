"""Invitations: a professional (or effect measurement's follow-up, `followups.py`) invites a
resident.

Status: sent -> opened -> started -> submitted, or expired once `due_at` passed before the
submit (`domain/invitation.py`). Expiry shows at once on read and on start, and is stored by
the periodic `sweep` (which also sends the one automatic reminder `invitation_reminder_days`
before the due date). An invitation by e-mail (resident without account) carries a random
link token, stored hashed; the e-mail goes through the mail outbox in the same transaction as
the invitation and its event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, InvalidInput, field_error
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.questionnaires import InvitationSent
from wijkkracht_common.mail import Mail
from wijkkracht_common.observability import get_logger
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.tenancy import PLATFORM_TENANT

from questionnaires.adapters.repositories import Repositories
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.i18n import Language
from questionnaires.domain.invitation import Invitation
from questionnaires.domain.response_record import ResponseRecord
from questionnaires.service import access, instruments, tenant_registry
from questionnaires.service.context import Context
from questionnaires.service.problems import not_found
from questionnaires.service.staff_access import StaffAccess, record_reads
from questionnaires.service.tokens import MAX_TOKEN_LENGTH, hash_token, new_token

SWEEP_BATCH = 200
MAX_ID_LENGTH = 64
INVITATION = "Uitnodiging"

log = get_logger(__name__)


def present(invitation: Invitation, now: datetime) -> dict[str, Any]:
    """The API representation of an invitation at `now` (an overdue one shows `expired`)."""
    return {
        "id": invitation.id,
        "instrument_id": invitation.instrument_id,
        "person_id": invitation.person_id,
        "by_email": invitation.by_email,
        "organisation": invitation.organisation,
        "invited_by": invitation.invited_by,
        "due_at": invitation.due_at.isoformat() if invitation.due_at else None,
        "followup_of": invitation.followup_of,
        "status": invitation.status_at(now),
        "reminders_sent": invitation.reminders,
        "response_id": invitation.response_id,
        "created_at": invitation.created_at.isoformat(),
    }


def staff_access(principal: Principal, invitation: Invitation, action: str) -> StaffAccess | None:
    """A staff member handling an invitation to a resident with an account (an e-mail
    invitation names nobody here), on behalf of the inviting organisation."""
    if invitation.person_id is None:
        return None
    return StaffAccess(
        principal,
        resident=invitation.person_id,
        action=action,
        resource=f"invitation/{invitation.id}",
        reason="invitation",
        on_behalf_of=invitation.organisation,
    )


def _mail(
    definition: InstrumentDefinition, link: str, due: datetime | None, *, reminder: bool
) -> tuple[str, str]:
    title_nl, title_en = definition.title.get("nl"), definition.title.get("en")
    due_nl = f" Graag vóór {due:%d-%m-%Y}." if due else ""
    due_en = f" Please respond before {due:%Y-%m-%d}." if due else ""
    head = ("Herinnering: " if reminder else "") + f"vragenlijst '{title_nl}'"
    subject = f"{head} / " + ("Reminder: " if reminder else "") + f"questionnaire '{title_en}'"
    text = (
        f"Beste bewoner,\n\nU bent uitgenodigd om de vragenlijst '{title_nl}' in te vullen."
        f"{due_nl}\nOpen deze link: {link}\n\nMet vriendelijke groet,\nWijkkracht\n\n---\n\n"
        f"Dear resident,\n\nYou are invited to fill in the questionnaire '{title_en}'.{due_en}\n"
        f"Open this link: {link}\n\nKind regards,\nWijkkracht\n"
    )
    return subject, text


def _link(ctx: Context, tenant: str, token: str) -> str:
    return f"{ctx.settings.public_url}/tenants/{tenant}/invitation-links/{token}"


async def _send_link(
    ctx: Context,
    repos: Repositories,
    tenant: str,
    invitation: Invitation,
    definition: InstrumentDefinition,
    *,
    reminder: bool,
) -> None:
    """A new link token for an e-mail invitation and the mail that carries it (the older
    links stay valid until the invitation is used)."""
    assert invitation.email is not None
    token, token_hash = new_token()
    await repos.invitations.add_link(token_hash, invitation.id, ctx.now())
    subject, text = _mail(
        definition, _link(ctx, tenant, token), invitation.due_at, reminder=reminder
    )
    kind = "invitation_reminder" if reminder else "invitation"
    await repos.mail.stage(Mail(to=invitation.email, subject=subject, text=text, kind=kind))


@dataclass(frozen=True, slots=True)
class NewInvitation:
    """An invitation built ahead of the transaction that stores it (`store`)."""

    invitation: Invitation
    definition: InstrumentDefinition
    event: Envelope[InvitationSent]


def new_invitation(
    ctx: Context,
    tenant: str,
    definition: InstrumentDefinition,
    *,
    actor: str,
    organisation: str | None,
    person_id: str | None,
    email: str | None,
    due_at: datetime | None,
    language: Language | None,
    followup_of: str | None,
) -> NewInvitation:
    now = ctx.now()
    invitation = Invitation(
        id=new_event_id(),
        instrument_id=definition.id,
        person_id=person_id,
        email=email,
        organisation=organisation,
        invited_by=actor,
        due_at=due_at,
        followup_of=followup_of,
        status="sent",
        created_at=now,
        updated_at=now,
        language=language,
    )
    event = new_event(
        InvitationSent(
            invitation_id=invitation.id,
            instrument_id=definition.id,
            person_id=person_id,
            invited_by=actor,
            due_at=due_at,
            followup_of=followup_of,
        ),
        tenant=tenant,
        subject=invitation.id,
        actor=actor,
        organisation=organisation,
    )
    return NewInvitation(invitation, definition, event)


async def store(ctx: Context, repos: Repositories, tenant: str, new: NewInvitation) -> None:
    """Store the invitation and, for an e-mail invitation, its link and mail."""
    await repos.invitations.add(new.invitation)
    if new.invitation.email:
        await _send_link(ctx, repos, tenant, new.invitation, new.definition, reminder=False)


async def create(
    ctx: Context,
    principal: Principal,
    *,
    organisation: str,
    instrument_id: str,
    person_id: str | None,
    email: str | None,
    due_at: datetime | None,
    language: Language | None,
) -> dict[str, Any]:
    access.require_inviter(principal, organisation)
    if (person_id is None) == (email is None):
        raise InvalidInput(
            "Geef een persoon óf een e-mailadres. / Give a person or an e-mail address.",
            errors=[field_error("person_id", "person_id xor email")],
        )
    now = ctx.now()
    if due_at is not None and due_at <= now:
        raise InvalidInput(
            "De datum ligt in het verleden. / The date is in the past.",
            errors=[field_error("due_at", "must be in the future")],
        )
    tenant = principal.tenant
    instrument = await instruments.load(ctx, tenant, instrument_id, None, None)
    new = new_invitation(
        ctx,
        tenant,
        instrument.definition,
        actor=principal.subject,
        organisation=organisation,
        person_id=person_id,
        email=email,
        due_at=due_at,
        language=language,
        followup_of=None,
    )

    logged = staff_access(principal, new.invitation, "create")

    async def work(repos: Repositories) -> tuple[Invitation, list[Envelope[Any]]]:
        await store(ctx, repos, tenant, new)
        if logged is not None:
            await logged.record(repos)
        return new.invitation, [new.event]

    stored = await ctx.commit(tenant, work, mail=email is not None)
    return present(stored, ctx.now())


async def belonging_to(
    repos: Repositories, person_id: str, records: Iterable[ResponseRecord]
) -> list[Invitation]:
    """The person's invitations (export, erasure): addressed to them, or linked to one of
    their responses `records` (an e-mail invitation whose response they attached)."""
    found = {i.id: i for i in await repos.invitations.of_person(person_id)}
    linked = {r.invitation_id for r in records if r.invitation_id} - found.keys()
    for invitation in await repos.invitations.get_many(sorted(linked)):
        found[invitation.id] = invitation
    return sorted(found.values(), key=lambda i: i.id)


async def by_link_token(ctx: Context, tenant: str, token: str) -> Invitation:
    found = await (await ctx.reader(tenant)).invitations.by_link(
        hash_token(token[:MAX_TOKEN_LENGTH])
    )
    if found is None:
        raise not_found(INVITATION)
    return found


async def load(ctx: Context, tenant: str, invitation_id: str) -> Invitation:
    found = await (await ctx.reader(tenant)).invitations.get(invitation_id[:MAX_ID_LENGTH])
    if found is None:
        raise not_found(INVITATION)
    return found


async def mark_opened(ctx: Context, tenant: str, invitation: Invitation) -> Invitation:
    now = ctx.now()
    if invitation.status != "sent" or invitation.status_at(now) != "sent":
        return invitation

    async def work(repos: Repositories) -> tuple[None, list[Envelope[Any]]]:
        await repos.invitations.mark_opened(invitation.id, now)
        return None, []

    await ctx.commit(tenant, work)
    return invitation.opened()


async def view(ctx: Context, principal: Principal, invitation_id: str) -> dict[str, Any]:
    """The invited resident opening it marks it `opened`; staff of the organisation see it;
    anyone else gets 404."""
    invitation = await load(ctx, principal.tenant, invitation_id)
    seen_by = access.invitation_viewer(principal, invitation)
    if seen_by is None:
        raise not_found(INVITATION)
    if seen_by == "invited":
        invitation = await mark_opened(ctx, principal.tenant, invitation)
    elif (logged := staff_access(principal, invitation, "read")) is not None:
        await record_reads(ctx, principal.tenant, [logged])
    return present(invitation, ctx.now())


async def open_link(ctx: Context, tenant: str, token: str) -> dict[str, Any]:
    """The link in an invitation e-mail: marks the invitation `opened` (who invited is not
    shown to the link's holder)."""
    await tenant_registry.require_known(ctx, tenant)
    invitation = await mark_opened(ctx, tenant, await by_link_token(ctx, tenant, token))
    out = present(invitation, ctx.now())
    out.pop("invited_by", None)
    return out


def ensure_startable(ctx: Context, invitation: Invitation) -> None:
    status = invitation.status_at(ctx.now())
    if status == "expired":
        raise Conflict(
            "Deze uitnodiging is verlopen. / This invitation has expired.",
            kind="invitation-expired",
        )
    if status in ("started", "submitted"):
        raise Conflict(
            "Deze uitnodiging is al gebruikt. / This invitation was already used.",
            kind="invitation-used",
            response_id=invitation.response_id,
        )


async def remind(ctx: Context, principal: Principal, invitation_id: str) -> dict[str, Any]:
    """Staff of the organisation remind: another e-mail for e-mail invitations (a new link
    token: the old one stays valid until used); account invitations only count the
    reminder, the resident sees the open invitation in `GET /me/invitations`."""
    tenant = principal.tenant
    invitation = await load(ctx, tenant, invitation_id)
    if not access.is_staff_of(principal, invitation.organisation):
        raise not_found(INVITATION)
    if invitation.status_at(ctx.now()) not in ("sent", "opened", "started"):
        raise Conflict(
            "Deze uitnodiging is afgerond of verlopen. / This invitation is finished or expired.",
            kind="invitation-closed",
        )
    latest = await instruments.load(ctx, tenant, invitation.instrument_id, None, None)
    logged = staff_access(principal, invitation, "update")

    async def work(repos: Repositories) -> tuple[Invitation, list[Envelope[Any]]]:
        now = ctx.now()
        if invitation.email:
            await _send_link(ctx, repos, tenant, invitation, latest.definition, reminder=True)
        await repos.invitations.count_reminder(invitation.id, now)
        if logged is not None:
            await logged.record(repos)
        return invitation.reminded(now), []

    reminded = await ctx.commit(tenant, work, mail=invitation.email is not None)
    return present(reminded, ctx.now())


async def own_page(
    ctx: Context, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    found, next_cursor = await (await ctx.reader(principal.tenant)).invitations.page_of_person(
        principal.person_id or "-", limit=limit, cursor=cursor
    )
    now = ctx.now()
    return [present(i, now) for i in found], next_cursor


async def organisation_page(
    ctx: Context, principal: Principal, organisation: str, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Invitations of an organisation, for its professionals and volunteers."""
    access.require_invitation_lister(principal, organisation)
    reader = await ctx.reader(principal.tenant)
    found, next_cursor = await reader.invitations.page_of_organisation(
        organisation, limit=limit, cursor=cursor
    )
    # One record per resident the page shows (an invitation names its resident).
    listed = {i.person_id for i in found if i.person_id is not None}
    await record_reads(
        ctx,
        principal.tenant,
        [
            StaffAccess(principal, person, "list", "invitations", "invitation", organisation)
            for person in sorted(listed)
        ],
    )
    now = ctx.now()
    return [present(i, now) for i in found], next_cursor


async def sweep(
    ctx: Context, now: datetime | None = None, tenants: Iterable[str] | None = None
) -> dict[str, int]:
    """Expire overdue invitations and send the automatic reminders, in every tenant (or
    `tenants`). Idempotent: run it as often as you like, from any number of processes."""
    now = now or ctx.now()
    names = list(tenants) if tenants is not None else await ctx.uow.tenants()
    totals = {"expired": 0, "reminded": 0}
    for tenant in names:
        if tenant == PLATFORM_TENANT:
            continue
        expired, reminded = await sweep_tenant(ctx, tenant, now)
        totals["expired"] += expired
        totals["reminded"] += reminded
    return totals


async def sweep_tenant(ctx: Context, tenant: str, now: datetime) -> tuple[int, int]:
    """(expired, reminded) in one tenant at `now`."""
    return await _expire(ctx, tenant, now), await _remind_due(ctx, tenant, now)


async def _expire(ctx: Context, tenant: str, now: datetime) -> int:
    """Store what `Invitation.status_at` already shows: open invitations past `due_at` ->
    expired. No event: nobody consumes one, and readers never relied on the stored status."""
    overdue = await (await ctx.reader(tenant)).invitations.overdue(now)
    if not overdue:
        return 0

    async def work(repos: Repositories) -> tuple[int, list[Envelope[Any]]]:
        return await repos.invitations.expire(overdue, now), []

    return await ctx.commit(tenant, work)


async def _remind_due(ctx: Context, tenant: str, now: datetime) -> int:
    """One automatic reminder for invitations not started `invitation_reminder_days` before
    their due date: a new e-mail (new link) for e-mail invitations, the counter for account
    invitations (like `remind`). Only invitations that already existed at that moment.
    Claimed per invitation with a conditional update in the same transaction as the mail, so
    two sweeps never send it twice."""
    days = ctx.settings.invitation_reminder_days
    if days <= 0:
        return 0
    ahead = timedelta(days=days)
    candidates = await (await ctx.reader(tenant)).invitations.due_for_reminder(
        now, now + ahead, SWEEP_BATCH
    )
    due = [i for i in candidates if i.due_for_automatic_reminder(ahead)]
    if not due:
        return 0
    definitions: dict[str, InstrumentDefinition] = {}
    for invitation in due:
        if invitation.email and invitation.instrument_id not in definitions:
            latest = await instruments.load(ctx, tenant, invitation.instrument_id, None, None)
            definitions[invitation.instrument_id] = latest.definition

    async def work(repos: Repositories) -> tuple[int, list[Envelope[Any]]]:
        sent = 0
        for invitation in due:
            if not await repos.invitations.claim_automatic_reminder(invitation.id, now):
                continue
            if invitation.email:
                await _send_link(
                    ctx,
                    repos,
                    tenant,
                    invitation,
                    definitions[invitation.instrument_id],
                    reminder=True,
                )
            sent += 1
        return sent, []

    return await ctx.commit(tenant, work, mail=True)


def sweep_job(ctx: Context) -> PeriodicTask:
    """The lifespan job: `sweep` every `invitation_sweep_seconds`."""

    async def run() -> None:
        totals = await sweep(ctx)
        if any(totals.values()):
            log.info("invitations swept", **totals)

    return PeriodicTask("invitation-sweep", run, ctx.settings.invitation_sweep_seconds)
