"""Invitations: a professional (or effect measurement's follow-up) invites a resident.

Status: sent -> opened -> started -> submitted, or expired once `due_at` passed before the
submit. Expiry is evaluated on read and on start, and persisted by the periodic `sweep` (which
also sends the one automatic reminder `invitation_reminder_days` before the due date). An
invitation by
e-mail (resident without account) carries a random link token, stored hashed; the e-mail goes
through the mail outbox in the same transaction as the invitation and its event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, Forbidden, InvalidInput, field_error
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.questionnaires import InvitationSent
from wijkkracht_common.mail import Mail, stage_mail
from wijkkracht_common.observability import get_logger
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.storage import Database, Session
from wijkkracht_common.tenancy import PLATFORM_TENANT

from questionnaires.adapters.documents import INVITATION_LINKS, INVITATIONS, as_datetime
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.i18n import Language
from questionnaires.service import instruments
from questionnaires.service.consents import STAFF_ROLES
from questionnaires.service.context import Context, utcnow
from questionnaires.service.problems import not_found
from questionnaires.service.responses import hash_token, new_token

OPEN_STATES = ("sent", "opened", "started")
REMINDABLE_STATES = ("sent", "opened")  # not started yet
SWEEP_BATCH = 200

log = get_logger(__name__)


def status_of(doc: dict[str, Any], now: datetime) -> str:
    due = as_datetime(doc.get("due_at"))
    if doc["status"] in OPEN_STATES and due is not None and due < now:
        return "expired"
    return str(doc["status"])


def present(doc: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    due = as_datetime(doc.get("due_at"))
    created = as_datetime(doc["created_at"])
    assert created is not None
    return {
        "id": doc["_id"],
        "instrument_id": doc["instrument_id"],
        "person_id": doc.get("person_id"),
        "by_email": doc.get("email") is not None,
        "organisation": doc.get("organisation"),
        "invited_by": doc["invited_by"],
        "due_at": due.isoformat() if due else None,
        "followup_of": doc.get("followup_of"),
        "status": status_of(doc, now),
        "reminders_sent": doc.get("reminders", 0),
        "response_id": doc.get("response_id"),
        "created_at": created.isoformat(),
    }


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
    if not principal.roles_in(organisation).intersection(STAFF_ROLES):
        raise Forbidden(
            "Alleen professionals en vrijwilligers van deze organisatie mogen "
            "uitnodigen. / Only professionals and volunteers of this organisation "
            "may invite.",
            required_roles=list(STAFF_ROLES),
        )
    if (person_id is None) == (email is None):
        raise InvalidInput(
            "Geef een persoon óf een e-mailadres. / Give a person or an e-mail address.",
            errors=[field_error("person_id", "person_id xor email")],
        )
    now = utcnow()
    if due_at is not None and due_at <= now:
        raise InvalidInput(
            "De datum ligt in het verleden. / The date is in the past.",
            errors=[field_error("due_at", "must be in the future")],
        )
    tenant = principal.tenant
    doc = await instruments.load_doc(ctx, tenant, instrument_id, None, None)
    definition = instruments.definition_of(doc)
    return await _store(
        ctx,
        tenant,
        definition,
        actor=principal.subject,
        organisation=organisation,
        person_id=person_id,
        email=email,
        due_at=due_at,
        language=language,
        followup_of=None,
    )


async def _store(
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
    claim: Any = None,
) -> dict[str, Any]:
    now = utcnow()
    token, token_hash = new_token() if email else (None, None)
    invitation_id = new_event_id()
    doc: dict[str, Any] = {
        "_id": invitation_id,
        "instrument_id": definition.id,
        "person_id": person_id,
        "email": email,
        "organisation": organisation,
        "invited_by": actor,
        "due_at": due_at,
        "followup_of": followup_of,
        "status": "sent",
        "reminders": 0,
        "language": language,
        "created_at": now,
        "updated_at": now,
        "response_id": None,
    }
    event = new_event(
        InvitationSent(
            invitation_id=invitation_id,
            instrument_id=definition.id,
            person_id=person_id,
            invited_by=actor,
            due_at=due_at,
            followup_of=followup_of,
        ),
        tenant=tenant,
        subject=invitation_id,
        actor=actor,
        organisation=organisation,
    )

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[dict[str, Any] | None, list[Envelope[Any]]]:
        if claim is not None and not await claim(db, session):
            return None, []
        await db[INVITATIONS].insert_one(doc, session=session)
        if email and token:
            await _store_link(db, token_hash, invitation_id, session)
            subject, text = _mail(definition, _link(ctx, tenant, token), due_at, reminder=False)
            await stage_mail(
                db, Mail(to=email, subject=subject, text=text, kind="invitation"), session=session
            )
        return doc, [event]

    stored = await ctx.commit(tenant, work, mail=email is not None)
    return present(stored) if stored is not None else {}


async def _store_link(
    db: Database[dict[str, Any]], token_hash: str | None, invitation_id: str, session: Session
) -> None:
    await db[INVITATION_LINKS].insert_one(
        {"_id": token_hash, "invitation_id": invitation_id, "created_at": utcnow()},
        session=session,
    )


async def by_link_token(ctx: Context, tenant: str, token: str) -> dict[str, Any]:
    db = await ctx.db(tenant)
    link = await db[INVITATION_LINKS].find_one({"_id": hash_token(token[:200])})
    doc = await db[INVITATIONS].find_one({"_id": link["invitation_id"]}) if link else None
    if doc is None:
        raise not_found("Uitnodiging")
    return doc


async def create_followup(
    ctx: Context,
    tenant: str,
    *,
    person_id: str,
    instrument_id: str,
    trajectory_id: str,
    due_at: datetime,
    organisation: str | None,
    claim: Any,
) -> bool:
    """From effect measurement's `followup_due`; `claim(db, session)` is the inbox guard.

    `due_at` is when the follow-up fell due, so the invitation's own deadline lies a window
    after it (never in the past, even for an event delivered late)."""
    await instruments.ensure_tenant(ctx, tenant)
    doc = await instruments.load_doc(ctx, tenant, instrument_id, None, None)
    deadline = max(due_at, utcnow()) + timedelta(days=ctx.settings.followup_response_days)
    stored = await _store(
        ctx,
        tenant,
        instruments.definition_of(doc),
        actor="effect_measurement",
        organisation=organisation,
        person_id=person_id,
        email=None,
        due_at=deadline,
        language=None,
        followup_of=trajectory_id,
        claim=claim,
    )
    return bool(stored)


async def load(ctx: Context, tenant: str, invitation_id: str) -> dict[str, Any]:
    db = await ctx.db(tenant)
    doc = await db[INVITATIONS].find_one({"_id": invitation_id[:64]})
    if doc is None:
        raise not_found("Uitnodiging")
    return doc


def is_staff_of(principal: Principal, doc: dict[str, Any]) -> bool:
    org = doc.get("organisation")
    return isinstance(org, str) and bool(principal.roles_in(org).intersection(STAFF_ROLES))


async def mark_opened(ctx: Context, tenant: str, doc: dict[str, Any]) -> dict[str, Any]:
    if doc["status"] == "sent" and status_of(doc, utcnow()) == "sent":
        db = await ctx.db(tenant)
        await db[INVITATIONS].update_one(
            {"_id": doc["_id"], "status": "sent"},
            {"$set": {"status": "opened", "updated_at": utcnow()}},
        )
        doc = {**doc, "status": "opened"}
    return doc


def ensure_startable(doc: dict[str, Any]) -> None:
    status = status_of(doc, utcnow())
    if status == "expired":
        raise Conflict(
            "Deze uitnodiging is verlopen. / This invitation has expired.",
            kind="invitation-expired",
        )
    if status in ("started", "submitted"):
        raise Conflict(
            "Deze uitnodiging is al gebruikt. / This invitation was already used.",
            kind="invitation-used",
            response_id=doc.get("response_id"),
        )


async def remind(ctx: Context, principal: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    """Another e-mail for e-mail invitations (a new link token: the old one stays valid
    until used); account invitations only count the reminder, the resident sees the open
    invitation in `GET /me/invitations`."""
    if status_of(doc, utcnow()) not in ("sent", "opened", "started"):
        raise Conflict(
            "Deze uitnodiging is afgerond of verlopen. / This invitation is finished or expired.",
            kind="invitation-closed",
        )
    tenant = principal.tenant
    definition = await instruments.definition(
        ctx, tenant, doc["instrument_id"], await _latest_version(ctx, tenant, doc)
    )

    async def work(
        db: Database[dict[str, Any]], session: Session
    ) -> tuple[dict[str, Any], list[Envelope[Any]]]:
        update: dict[str, Any] = {"updated_at": utcnow()}
        if doc.get("email"):
            token, token_hash = new_token()
            await _store_link(db, token_hash, doc["_id"], session)
            due = as_datetime(doc.get("due_at"))
            subject, text = _mail(definition, _link(ctx, tenant, token), due, reminder=True)
            await stage_mail(
                db,
                Mail(to=doc["email"], subject=subject, text=text, kind="invitation_reminder"),
                session=session,
            )
        await db[INVITATIONS].update_one(
            {"_id": doc["_id"]}, {"$set": update, "$inc": {"reminders": 1}}, session=session
        )
        return {**doc, **update, "reminders": doc.get("reminders", 0) + 1}, []

    return present(await ctx.commit(tenant, work, mail=bool(doc.get("email"))))


async def _latest_version(ctx: Context, tenant: str, doc: dict[str, Any]) -> int:
    latest = await instruments.load_doc(ctx, tenant, doc["instrument_id"], None, None)
    return int(latest["version"])


async def sweep(
    ctx: Context, now: datetime | None = None, tenants: Iterable[str] | None = None
) -> dict[str, int]:
    """Expire overdue invitations and send the automatic reminders, in every tenant (or
    `tenants`). Idempotent: run it as often as you like, from any number of processes."""
    now = now or utcnow()
    names = list(tenants) if tenants is not None else await ctx.runtime.storage.tenants()
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
    """Persist what `status_of` already shows: open invitations past `due_at` -> expired.
    (`due_at` is written by insert only, so it keeps its date-time type for the range query.)
    No event: nobody consumes one, and readers never relied on the stored status alone."""
    db = await ctx.db(tenant)
    overdue = (
        await db[INVITATIONS]
        .find({"status": {"$in": list(OPEN_STATES)}, "due_at": {"$lt": now}}, {"_id": 1})
        .to_list(None)
    )
    if not overdue:
        return 0
    result = await db[INVITATIONS].update_many(
        {"_id": {"$in": [d["_id"] for d in overdue]}, "status": {"$in": list(OPEN_STATES)}},
        {"$set": {"status": "expired", "updated_at": now}},
    )
    return int(result.modified_count)


async def _remind_due(ctx: Context, tenant: str, now: datetime) -> int:
    """One automatic reminder for invitations not started `invitation_reminder_days` before
    their due date: a new e-mail (new link) for e-mail invitations, the counter for account
    invitations (like `remind`). Only invitations that already existed at that moment (an
    invitation due tomorrow is not "reminded" right after it was sent). Claimed per invitation
    with a conditional update (`auto_reminded_at` unset) in the same transaction as the mail,
    so two sweeps never send it twice."""
    days = ctx.settings.invitation_reminder_days
    if days <= 0:
        return 0
    ahead = timedelta(days=days)
    db = await ctx.db(tenant)
    candidates = (
        await db[INVITATIONS]
        .find(
            {
                "status": {"$in": list(REMINDABLE_STATES)},
                "due_at": {"$gte": now, "$lte": now + ahead},
                "auto_reminded_at": None,
            }
        )
        .limit(SWEEP_BATCH)
        .to_list(None)
    )
    due: list[tuple[dict[str, Any], datetime]] = []
    for doc in candidates:
        due_at, created = as_datetime(doc.get("due_at")), as_datetime(doc.get("created_at"))
        if due_at is not None and created is not None and created <= due_at - ahead:
            due.append((doc, due_at))
    if not due:
        return 0
    definitions: dict[str, InstrumentDefinition] = {}
    for doc, _ in due:
        if doc.get("email") and doc["instrument_id"] not in definitions:
            definitions[doc["instrument_id"]] = await instruments.definition(
                ctx, tenant, doc["instrument_id"], await _latest_version(ctx, tenant, doc)
            )

    async def work(db: Database[dict[str, Any]], session: Session) -> tuple[int, list[Any]]:
        sent = 0
        for doc, due_at in due:
            claimed = await db[INVITATIONS].update_one(
                {
                    "_id": doc["_id"],
                    "status": {"$in": list(REMINDABLE_STATES)},
                    "auto_reminded_at": None,
                },
                {
                    "$set": {"auto_reminded_at": now.timestamp(), "updated_at": now},
                    "$inc": {"reminders": 1},
                },
                session=session,
            )
            if claimed.matched_count != 1:
                continue
            if doc.get("email"):
                token, token_hash = new_token()
                await _store_link(db, token_hash, doc["_id"], session)
                subject, text = _mail(
                    definitions[doc["instrument_id"]],
                    _link(ctx, tenant, token),
                    due_at,
                    reminder=True,
                )
                await stage_mail(
                    db,
                    Mail(to=doc["email"], subject=subject, text=text, kind="invitation_reminder"),
                    session=session,
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
