"""The erasure contract (architecture §9): identity's `person_erasure_requested`.

In one transaction with the inbox claim (`messaging.apply_once`): the person's profile,
responses and consents are deleted; their "dit klopt niet meer" reports stay (the note and
what they do to freshness) but under one random `erased-<id>` for all of them, in the tasks
and inside the entries, so they still count as one reporter and nothing links them to the
person; `person_data_erased` answers with the counts.
"""

from __future__ import annotations

from datetime import datetime

from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.events.social_map import SocialMapPersonDataErased
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.adapters.repositories import Repository
from social_map.domain.freshness import without_reporter
from social_map.domain.tenant_view import TenantView
from social_map.service.context import ServiceContext


async def on_erasure(
    ctx: ServiceContext, env: Envelope[PersonErasureRequested], delivery: Delivery
) -> bool:
    person = env.data.person_id
    # One random id for all of the person's reports: they stay one reporter in the counts
    # (freshness), and nothing links them to the person any more.
    replacement = f"erased-{new_event_id()}"
    view = await ctx.view(env.tenant)

    async def effect(db: repo.Db, session: Session) -> list[Staged]:
        r = ctx.repo(db, session)
        return await erase_person(
            r,
            await ctx.with_current_policy(r, view),
            tenant=env.tenant,
            person=person,
            replacement=replacement,
            actor=env.actor,
            now=ctx.now(),
        )

    try:
        return await apply_once(ctx.runtime, env, delivery, effect)
    finally:  # entries may have been rewritten: this process's search catches up
        ctx.invalidate(env.tenant)


async def erase_person(
    r: Repository,
    view: TenantView,
    *,
    tenant: str,
    person: str,
    replacement: str,
    actor: str | None,
    now: datetime,
) -> list[Staged]:
    """The effect: erase, anonymise the reports, answer with counts."""
    erased = await r.erase_resident_data(person)
    # Reports keep the entry's history but lose who made them: the tasks, and the reports
    # inside the entries (every report has a task naming its entry).
    reported = await r.entries_reported_by(person)
    tasks = await r.rename_reporter(person, replacement)
    entries = await _anonymise_reports(r, view, sorted(reported), person, replacement, now)
    answer = SocialMapPersonDataErased(
        person_id=person, erased=erased, anonymised={"tasks": tasks, "entries": entries}
    )
    event: Envelope[SocialMapPersonDataErased] = new_event(
        answer, tenant=tenant, subject=person, actor=actor
    )
    return [event]


async def _anonymise_reports(
    r: Repository,
    view: TenantView,
    entry_ids: list[str],
    person: str,
    replacement: str,
    now: datetime,
) -> int:
    """Rewrite the person's reports inside entries; returns how many entries changed."""
    changed = 0
    for entry_id in entry_ids:
        current = await r.get_entry(entry_id)
        if current is None or not any(
            report.reporter == person for report in current.entry.outdated_reports
        ):
            continue
        await r.save_entry(
            without_reporter(current.entry, person, replacement),
            owner_slug=current.owner_slug,
            version=current.version + 1,
            view=view,
            now=now,
            freshness=current.freshness,
        )
        changed += 1
    return changed
