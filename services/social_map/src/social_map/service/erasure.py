"""The erasure contract (architecture §9): identity's `person_erasure_requested`.

In one transaction with the inbox claim (`messaging.apply_once(..., person=)`):
- deleted: the person's profile, responses (their dimension scores), consent states, and the
  stored results of their requests (`Idempotency-Key` replays);
- kept for what they do to the map, unlinked: their "dit klopt niet meer" reports (the note
  and the freshness they cause) under one `retention_tombstone()` for all of them, in the
  tasks and inside the entries, so they still count as one reporter; as a staff member, the
  entries they last confirmed (when stays, who becomes a tombstone) and the sweeps they ran;
- the access log is unlinked (`access_log.anonymise_resident`) and the person is remembered as
  erased, so late events about them (profile, consent, response) are dropped, not applied;
- `person_data_erased` answers with the counts.

Nothing left in the service's database names the person (tested with
`privacy_scan.scan_databases`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from wijkkracht_common.erasure import retention_tombstone
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.events.social_map import SocialMapPersonDataErased
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.adapters.repositories import Repository
from social_map.domain.freshness import without_assurer, without_reporter
from social_map.domain.model import Entry
from social_map.domain.tenant_view import TenantView
from social_map.service.context import ServiceContext


async def on_erasure(
    ctx: ServiceContext, env: Envelope[PersonErasureRequested], delivery: Delivery
) -> bool:
    person = env.data.person_id
    view = await ctx.view(env.tenant)

    async def effect(db: repo.Db, session: Session) -> list[Staged]:
        r = ctx.repo(db, session)
        return await erase_person(
            r,
            await ctx.with_current_policy(r, view),
            tenant=env.tenant,
            person=person,
            replacement=retention_tombstone(),
            actor=env.actor,
            now=ctx.now(),
        )

    try:
        # person=: a repeated request after the erasure is dropped like any late event
        return await apply_once(ctx.runtime, env, delivery, effect, person=person)
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
    """The effect: erase, unlink what is kept, remember the erasure, answer with counts.
    `replacement`: the tombstone of all the person's reports (they count as one reporter);
    other kept records get their own, so they do not link to the reports or each other."""
    erased = await r.erase_resident_data(person)
    # Reports keep the entry's history but lose who made them: the tasks, and the reports
    # inside the entries (every report has a task naming its entry).
    reported = await r.entries_reported_by(person)
    tasks = await r.rename_reporter(person, replacement)
    entries = await _rewrite_entries(
        r,
        view,
        sorted(reported),
        lambda entry: without_reporter(entry, person, replacement),
        now,
    )
    anonymised = {"tasks": tasks, "entries": entries}
    # Traces most persons never leave: counted when there were any.
    confirmed = [s.entry.id for s in await r.entries_assured_by(person)]
    assurer = retention_tombstone()
    extra_anonymised = {
        "entries_confirmed": await _rewrite_entries(
            r,
            view,
            confirmed,
            lambda entry: without_assurer(entry, person, assurer),
            now,
        ),
        "sweeps": await r.rename_sweep_actor(person, retention_tombstone()),
        "access_log": await r.anonymise_access_log(person),
    }
    anonymised.update({kind: n for kind, n in extra_anonymised.items() if n})
    replays = await r.forget_requests(person)
    if replays:
        erased["request_replays"] = replays
    await r.remember_erased(tenant, person)
    answer = SocialMapPersonDataErased(person_id=person, erased=erased, anonymised=anonymised)
    event: Envelope[SocialMapPersonDataErased] = new_event(
        answer, tenant=tenant, subject=person, actor=actor
    )
    return [event]


async def _rewrite_entries(
    r: Repository,
    view: TenantView,
    entry_ids: list[str],
    rewrite: Callable[[Entry], Entry],
    now: datetime,
) -> int:
    """Store `rewrite(entry)` for each entry it changes; returns how many changed."""
    changed = 0
    for entry_id in entry_ids:
        current = await r.get_entry(entry_id)
        if current is None:
            continue
        rewritten = rewrite(current.entry)
        if rewritten == current.entry:
            continue
        await r.save_entry(
            rewritten,
            owner_slug=current.owner_slug,
            version=current.version + 1,
            view=view,
            now=now,
            freshness=current.freshness,
        )
        changed += 1
    return changed
