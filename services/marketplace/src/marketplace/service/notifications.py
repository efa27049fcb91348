"""Notifications: a person's list, and the daily digest mailed to volunteers who chose it."""

from __future__ import annotations

from collections import defaultdict

from wijkkracht_common.auth import Principal
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db
from marketplace.domain.notifications import Notification
from marketplace.service import notify
from marketplace.service.acting import acting_for, log_read
from marketplace.service.context import Context
from marketplace.service.posts import categories_of

DIGEST_BATCH = 1_000


async def mine(
    ctx: Context,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    for_person: str | None = None,
) -> tuple[list[Notification], str | None]:
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    page = await r.notifications_of(acting.person_id, limit=limit, cursor=cursor)
    await log_read(ctx, acting, "notifications")
    return page


async def send_digests(ctx: Context, tenant: str) -> int:
    """One mail per volunteer with everything pending for the digest; returns mails staged."""
    now = ctx.now()
    link = f"{ctx.settings.public_url}/posts"

    async def work(db: Db, session: Session) -> tuple[int, list[Staged]]:
        r = ctx.repo(db, session)
        pending = await r.digest_pending(DIGEST_BATCH)
        by_person: dict[str, list[Notification]] = defaultdict(list)
        for item in pending:
            by_person[item.person_id].append(item)
        cats = await categories_of(ctx, tenant)
        mails = 0
        for person, items in sorted(by_person.items()):
            profile = await r.volunteer(person)
            if profile is not None and profile.email and profile.active:
                await r.stage_mails([notify.digest_mail(profile.email, items, cats, link)])
                mails += 1
            for item in items:
                await r.mark_mailed(item, now)
        return mails, []

    total = 0
    while True:
        sent = await ctx.commit(tenant, work)
        total += sent
        if not sent:
            reader = await ctx.reader(tenant)
            if not await reader.digest_pending(1):
                return total
