"""Reminders and the weekly digest through the mail outbox: a resident leaves an address and
chooses what they want; a periodic pass stages at most one reminder mail per person (all
homework due soon in one mail) and one digest per person per week, never one mail per event.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from wijkkracht_common.auth import Principal
from wijkkracht_common.mail import Mail
from wijkkracht_common.outbox import Staged
from wijkkracht_common.texts import Text

from learning_paths.adapters.repositories import Repository
from learning_paths.domain.enrolment import Enrolment
from learning_paths.domain.reminders import (
    ReminderPrefs,
    digest_due,
    digest_mail,
    due_soon,
    reminder_mail,
)
from learning_paths.service import problems
from learning_paths.service.context import Context


def _person(principal: Principal) -> str:
    if principal.person_id is None:
        raise problems.not_found()
    return principal.person_id


async def read(ctx: Context, principal: Principal) -> ReminderPrefs:
    found = await (await ctx.reader(principal.tenant)).reminder_prefs(_person(principal))
    if found is None:
        raise problems.not_found(Text("Geen herinneringen ingesteld.", "No reminders set."))
    return found


async def save(
    ctx: Context, principal: Principal, *, email: str, reminders: bool, digest: bool
) -> ReminderPrefs:
    person = _person(principal)

    async def work(repo: Repository) -> tuple[ReminderPrefs, list[Staged]]:
        current = await repo.reminder_prefs(person)
        prefs = ReminderPrefs(
            person_id=person,
            email=email,
            reminders=reminders,
            digest=digest,
            last_digest_at=current.last_digest_at if current else None,
            updated_at=ctx.now(),
        )
        await repo.save_reminder_prefs(prefs)
        return prefs, []

    return await ctx.commit(principal.tenant, work)


async def remove(ctx: Context, principal: Principal) -> None:
    person = _person(principal)

    async def work(repo: Repository) -> tuple[None, list[Staged]]:
        await repo.delete_reminder_prefs(person)
        return None, []

    await ctx.commit(principal.tenant, work)


async def _titles(repo: Repository, enrolments: list[Enrolment]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for content_id in {e.content_id for e in enrolments}:
        content = await repo.content(content_id)
        titles[content_id] = content.title if content else "Module"
    return titles


async def run_tenant(ctx: Context, tenant: str) -> int:
    """One pass for one tenant; returns how many mails were staged."""
    now = ctx.now()
    window = timedelta(days=ctx.settings.reminder_days_before)
    reader = await ctx.reader(tenant)
    prefs = {p.person_id: p for p in await reader.all_reminder_prefs()}
    due: dict[str, list[Enrolment]] = defaultdict(list)
    for enrolment in await reader.enrolments_due_before(now + window):
        if enrolment.person_id in prefs:
            due[enrolment.person_id].append(enrolment)
    staged = 0
    for person, pref in prefs.items():
        reminders = due_soon(due.get(person, []), now, window) if pref.reminders else []
        wants_digest = digest_due(pref, now)
        if not reminders and not wants_digest:
            continue

        async def work(
            repo: Repository, person: str = person, reminders: list[Enrolment] = reminders
        ) -> tuple[int, list[Staged]]:
            current = await repo.reminder_prefs(person)
            if current is None:
                return 0, []
            mails = 0
            fresh = [await repo.enrolment(e.id) for e in reminders]
            still_due = due_soon([e for e in fresh if e is not None], now, window)
            if still_due and current.reminders:
                composed = reminder_mail(still_due, await _titles(repo, still_due), now)
                await repo.stage_mail(
                    Mail(
                        to=current.email,
                        subject=composed.subject,
                        text=composed.text,
                        kind="learning-reminder",
                    )
                )
                for enrolment in still_due:
                    await repo.save_enrolment(enrolment.model_copy(update={"reminded_at": now}))
                mails += 1
            if digest_due(current, now):
                enrolments = await repo.enrolments_of_person(person)
                composed_digest = digest_mail(
                    enrolments, await _titles(repo, enrolments), now, current.last_digest_at
                )
                if composed_digest is not None:
                    await repo.stage_mail(
                        Mail(
                            to=current.email,
                            subject=composed_digest.subject,
                            text=composed_digest.text,
                            kind="learning-digest",
                        )
                    )
                    mails += 1
                await repo.save_reminder_prefs(current.model_copy(update={"last_digest_at": now}))
            return mails, []

        staged += await ctx.commit(tenant, work)
    return staged
