"""Freshness: state transitions with their events and owner mails, the periodic sweep (and
the same sweep run on request), the one-click verification link and the overview per
organisation.

The stored `freshness` field is the state last announced. A transition (sweep, report)
emits one event per threshold crossed and stages one mail to the owner, in the same
transaction as the new state, so a repeated sweep never announces twice (idempotent).

The sweep decides with the tenant's current policy: each entry's transaction reads the
policy's version (`ServiceContext.with_current_policy`), so a policy changed just before or
during a run, by any replica, is the one its states and next checks are computed with (a
policy change also makes every entry due for a check at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.social_map import (
    EntryHidden,
    EntryVerificationDue,
    EntryWentStale,
)
from wijkkracht_common.mail import Mail
from wijkkracht_common.observability import get_logger
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.adapters.documents import open_reporters
from social_map.adapters.repositories import Repository
from social_map.domain import verification_token
from social_map.domain.freshness import (
    FreshnessEvent,
    FreshnessState,
    OrganisationFreshness,
    freshness_state,
    overview,
    transitions,
)
from social_map.domain.model import Entry
from social_map.domain.sweeps import SweepReport
from social_map.domain.tenant_view import TenantView
from social_map.service import permissions
from social_map.service.context import SERVICE, ServiceContext

log = get_logger(__name__)

SWEEP_NOT_FOUND = "Controleronde niet gevonden. / Sweep not found."

_EVENT_CLASSES = {
    FreshnessEvent.VERIFICATION_DUE: EntryVerificationDue,
    FreshnessEvent.WENT_STALE: EntryWentStale,
    FreshnessEvent.HIDDEN: EntryHidden,
}
_MAIL_SUBJECTS = {
    FreshnessState.DUE: "Klopt uw aanbod nog? / Is your entry still correct?",
    FreshnessState.STALE: "Uw aanbod is verouderd / Your entry is out of date",
    FreshnessState.HIDDEN: "Uw aanbod is verborgen / Your entry was hidden",
}
_MAIL_LEADS = {
    FreshnessState.DUE: (
        "is al een tijd niet gecontroleerd of er is gemeld dat het niet meer klopt.",
        "has not been checked for a while, or someone reported it is no longer correct.",
    ),
    FreshnessState.STALE: (
        "is verouderd en wordt op de sociale kaart met een waarschuwing getoond.",
        "is out of date and is shown on the social map with a warning.",
    ),
    FreshnessState.HIDDEN: (
        "is te lang niet gecontroleerd en is verborgen tot u het bevestigt.",
        "was not checked for too long and is hidden until you confirm it.",
    ),
}


def verification_url(ctx: ServiceContext, tenant: str, entry: Entry, now: datetime) -> str:
    token = verification_token.issue(
        ctx.link_secret(tenant),
        tenant,
        entry,
        now + timedelta(days=ctx.settings.verification_link_days),
    )
    return ctx.public_url(f"verification/{quote(token)}")


async def owner_address(r: Repository, entry: Entry) -> str | None:
    org = await r.get_organisation(entry.organization_id)
    for candidate in (org.email if org else None, entry.email, entry.assured_by):
        if candidate and "@" in candidate:
            return candidate
    return None


def _mail(entry: Entry, entered: FreshnessState, to: str, url: str) -> Mail:
    nl, en = _MAIL_LEADS[entered]
    text = (
        f"Beste beheerder,\n\nUw aanbod '{entry.name}' op de sociale kaart {nl}\n"
        f"Klopt alles nog? Bevestig het met één klik (geen inlog nodig):\n{url}\n\n"
        f"Klopt er iets niet meer? Pas het aanbod dan aan in uw beheeromgeving.\n\n"
        f"---\nDear administrator,\n\nYour entry '{entry.name}' on the social map {en}\n"
        f"Is everything still correct? Confirm with one click (no login needed):\n{url}\n"
    )
    return Mail(to=to, subject=_MAIL_SUBJECTS[entered], text=text, kind="verification")


async def announce(
    ctx: ServiceContext,
    r: Repository,
    *,
    tenant: str,
    entry: Entry,
    owner_slug: str | None,
    previous: FreshnessState,
    new: FreshnessState,
    now: datetime,
    actor: str | None = None,
) -> list[Envelope[Any]]:
    """Events for previous → new and one mail to the owner (for the highest state entered),
    staged through `r` (in the caller's transaction)."""
    names = transitions(previous, new)
    if not names:
        return []
    events: list[Envelope[Any]] = [
        new_event(
            _EVENT_CLASSES[name](
                entry_id=entry.id,
                organization_id=entry.organization_id,
                owner_organisation=owner_slug,
                revision=entry.revision,
                assured_at=entry.assured_at,
                state=new.value,
            ),
            tenant=tenant,
            subject=entry.id,
            actor=actor or f"system:{SERVICE}",
            organisation=owner_slug,
        )
        for name in names
    ]
    to = await owner_address(r, entry)
    if to is not None:
        await r.stage_mail(_mail(entry, new, to, verification_url(ctx, tenant, entry, now)))
    return events


async def sweep_tenant(ctx: ServiceContext, tenant: str, now: datetime) -> int:
    """Announce every transition due at `now`; returns how many entries changed state."""
    _, changed, _ = await _sweep(ctx, tenant, now)
    return changed


async def _sweep(ctx: ServiceContext, tenant: str, now: datetime) -> tuple[int, int, int]:
    """(entries checked, entries whose state changed, the policy version at the start)."""
    reader = await ctx.reader(tenant)
    view = await ctx.current_view(tenant)
    checked = changed = 0
    while True:
        batch = await reader.due_for_check(now)
        for entry_id in batch:
            changed += await _sweep_one(ctx, view, entry_id, now)
        checked += len(batch)
        if len(batch) < repo.DUE_BATCH:
            return checked, changed, view.policy_version


async def _sweep_one(ctx: ServiceContext, view: TenantView, entry_id: str, now: datetime) -> int:
    async def work(db: repo.Db, session: Session) -> tuple[int, Sequence[Envelope[Any]]]:
        r = ctx.repo(db, session)
        stored = await r.get_entry(entry_id)
        if stored is None:
            return 0, []
        policy = (await ctx.with_current_policy(r, view)).policy
        entry = stored.entry
        new = freshness_state(entry.assured_at, open_reporters(entry), policy, now)
        version = stored.version + 1
        if new is stored.freshness:
            # nothing to announce; move next_check_at forward so the sweep does not loop
            await r.set_freshness(entry, new, version=version, policy=policy, now=now)
            return 0, []
        events = await announce(
            ctx,
            r,
            tenant=view.tenant,
            entry=entry,
            owner_slug=stored.owner_slug,
            previous=stored.freshness,
            new=new,
            now=now,
        )
        await r.set_freshness(entry, new, version=version, policy=policy, now=now)
        return 1, events

    return await ctx.commit(view.tenant, work)


async def run_and_record(ctx: ServiceContext, tenant: str, *, actor: str) -> SweepReport:
    """Sweep one tenant now (instead of waiting for the timer) and keep the report."""
    started = ctx.now()
    checked, changed, policy_version = await _sweep(ctx, tenant, started)
    report = SweepReport(
        id=new_event_id(),
        tenant=tenant,
        actor=actor,
        started_at=started,
        finished_at=ctx.now(),
        policy_version=policy_version,
        checked=checked,
        changed=changed,
    )
    await (await ctx.reader(tenant)).save_sweep(report)
    log.info("freshness sweep on request", tenant=tenant, checked=checked, changed=changed)
    return report


async def run_now(ctx: ServiceContext, principal: Principal) -> SweepReport:
    """A neighbourhood manager runs the sweep of their own tenant now."""
    permissions.require_curator(principal)
    return await run_and_record(ctx, principal.tenant, actor=principal.subject)


async def sweep_report(ctx: ServiceContext, principal: Principal, sweep_id: str) -> SweepReport:
    """A sweep run on request, for a neighbourhood manager of its tenant (others: 404)."""
    permissions.require_curator(principal)
    found = await (await ctx.reader(principal.tenant)).sweep_report(sweep_id)
    if found is None:
        raise NotFound(SWEEP_NOT_FOUND)
    return found


async def sweep(ctx: ServiceContext, now: datetime | None = None) -> int:
    moment = now or ctx.now()
    total = 0
    for tenant in await ctx.runtime.storage.tenants():
        total += await sweep_tenant(ctx, tenant, moment)
    return total


def sweeper(ctx: ServiceContext, period: float) -> PeriodicTask:
    """The lifespan job: `sweep` every `period` seconds (idempotent, so any period works)."""

    async def run() -> None:
        changed = await sweep(ctx)
        if changed:
            log.info("freshness sweep", changed=changed)

    return PeriodicTask("freshness-sweep", run, period)


async def organisation_overview(
    ctx: ServiceContext, principal: Principal, now: datetime
) -> list[OrganisationFreshness]:
    """Counts per state and the least recently checked entries of the organisations the
    caller manages (a manager: all of them)."""
    slugs = permissions.managed_slugs(principal)
    if slugs is not None and not slugs:
        permissions.require_curator(principal)
    policy = (await ctx.view(principal.tenant)).policy
    summaries = await (await ctx.reader(principal.tenant)).entry_summaries(slugs)
    return overview(summaries, policy, now)
