"""The sweep that keeps the market fresh: owners are reminded a few days before their post
expires (renewal is one click), and open posts past their time expire (`post_closed`)."""

from __future__ import annotations

from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db
from marketplace.domain import posts as rules
from marketplace.domain.notifications import NotificationKind
from marketplace.service import notify
from marketplace.service.context import Context
from marketplace.service.posts import closed

SWEEP_BATCH = 200
ACTOR = "system:marketplace:expiry"


async def sweep_tenant(ctx: Context, tenant: str) -> tuple[int, int]:
    """(reminded, expired) at the context's now. Each pass handles a batch of due posts in
    one transaction; a handled post is due again only at its expiry, or never."""
    now = ctx.now()
    totals = {"reminded": 0, "expired": 0}

    async def work(db: Db, session: Session) -> tuple[int, list[Staged]]:
        r = ctx.repo(db, session)
        events: list[Staged] = []
        due = await r.posts_due(now, SWEEP_BATCH)
        for post in due:
            gone = rules.expire(post, now)
            changed = gone or rules.remind(post, now)
            if changed is None:  # pragma: no cover - due means one of the two applies
                continue
            await r.save_post(changed)
            if gone is not None:
                events.append(closed(gone, tenant, ACTOR))
                kind, counter = NotificationKind.EXPIRED, "expired"
            else:
                kind, counter = NotificationKind.EXPIRY_SOON, "reminded"
            totals[counter] += 1
            if post.owner_id is not None:
                await r.add_notifications(
                    [notify.notification(post.owner_id, kind, now, post=post)]
                )
        return len(due), events

    while await ctx.commit(tenant, work) == SWEEP_BATCH:
        pass
    return totals["reminded"], totals["expired"]


async def sweep(ctx: Context) -> tuple[int, int]:
    reminded = expired = 0
    for tenant in await ctx.runtime.storage.tenants():
        r, e = await sweep_tenant(ctx, tenant)
        reminded += r
        expired += e
    return reminded, expired
