"""The export contract (architecture §9): the person's part of their data export.

Everything the marketplace holds about the person, JSON-ready: their posts, the matches
they take part in with those matches' messages, group memberships, volunteer profile,
notifications, certificates of conduct, time-credit transfers and balances, reports they
made and people they blocked. Stored and answered by `wijkkracht_common.export.contribute`.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common import export
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.events.marketplace import MarketplacePersonDataExported
from wijkkracht_common.messaging import Delivery

from marketplace.adapters.repositories import Db
from marketplace.service.context import Context

NOTIFICATIONS_PAGE = 100


async def build(ctx: Context, db: Db, person_id: str) -> dict[str, Any]:
    r = ctx.repo(db, None)
    posts = await r.posts_of(person_id)
    matches = await r.matches_of_person(person_id)
    messages = [m for match in matches for m in await r.messages(match.id)]
    memberships = await r.memberships_of(person_id)
    volunteer = await r.volunteer(person_id)
    notifications = []
    cursor: str | None = None
    while True:
        page, cursor = await r.notifications_of(person_id, limit=NOTIFICATIONS_PAGE, cursor=cursor)
        notifications += page
        if cursor is None:
            break
    transfers = await r.transfers_of(person_id)
    balances = {m.group_id: await r.balance(m.group_id, person_id) for m in memberships}
    certificates = await r.certificates_of(person_id)
    reports = await r.reports_by(person_id)
    blocks = await r.blocks_by(person_id)

    def dump(items: list[Any]) -> list[dict[str, Any]]:
        return [item.model_dump(mode="json") for item in items]

    return {
        "posts": dump(posts),
        "matches": dump(matches),
        "messages": dump(messages),
        "group_memberships": dump(memberships),
        "volunteer_profile": volunteer.model_dump(mode="json") if volunteer else None,
        "notifications": dump(notifications),
        "certificates_of_conduct": [
            {**c.model_dump(mode="json"), "expires_on": c.expires_on.isoformat()}
            for c in certificates
        ],
        "time_credit_transfers": dump(transfers),
        "time_credit_balances": balances,
        "reports_made": dump(reports),
        "blocked": [b.blocked_id for b in blocks],
        "counts": {
            "posts": len(posts),
            "matches": len(matches),
            "messages": len(messages),
            "group_memberships": len(memberships),
            "volunteer_profile": int(volunteer is not None),
            "notifications": len(notifications),
            "certificates_of_conduct": len(certificates),
            "time_credit_transfers": len(transfers),
            "reports_made": len(reports),
            "blocked": len(blocks),
        },
    }


async def on_export_requested(
    ctx: Context, envelope: Envelope[PersonExportRequested], delivery: Delivery
) -> bool:
    async def part(db: Db, person_id: str) -> dict[str, Any]:
        return await build(ctx, db, person_id)

    return await export.contribute(
        ctx.runtime, envelope, delivery, build=part, answer=MarketplacePersonDataExported
    )
