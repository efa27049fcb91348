"""`wk demo seed`: the demo tenant's marketplace (dev mode only; idempotent).

Writes identity's demo neighbourhood table into the projection when identity's event has not
arrived yet (the event later replaces it with the same rows), then everything of
`demo.generator` that is not there yet, in one transaction, with the events a live market
would have published (through the outbox) and the access-log records of the broker's work.
The reference moment is stored the first time, so a second run changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wijkkracht_common import consent
from wijkkracht_common.auth import Principal
from wijkkracht_common.outbox import Staged
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import INDEXES, Db
from marketplace.demo.generator import WELFARE, DemoMarket, certificate_dates, demo_market
from marketplace.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from marketplace.demo.taxonomy import DEFAULT_TREE
from marketplace.domain.matches import MatchStatus
from marketplace.domain.posts import PostStatus
from marketplace.domain.safety import Certificate
from marketplace.service.acting import BROKER_PURPOSE
from marketplace.service.context import Context
from marketplace.service.credits import book, transferred
from marketplace.service.matches import completed, made
from marketplace.service.posts import closed, published
from marketplace.settings import Settings

REFERENCE = "demo_reference"
ACTOR = "system:marketplace:demo"


async def _reference(ctx: Context, tenant: str) -> datetime:
    r = await ctx.reader(tenant)
    stored = await r.config(REFERENCE)
    if stored is not None:
        return datetime.fromisoformat(stored)
    reference = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    await r.set_config(REFERENCE, reference.isoformat())
    return reference


async def seed_tenant(ctx: Context, tenant: str) -> str:
    reader = await ctx.reader(tenant)
    if not await reader.neighbourhoods():
        await reader.replace_neighbourhoods(DEMO_NEIGHBOURHOODS)
        ctx.invalidate(tenant)
    if await reader.taxonomy() is None:
        # the social map's default tree (version 0) until its own `taxonomy_changed` arrives
        await reader.save_taxonomy(0, DEFAULT_TREE)
        ctx.invalidate(tenant)
    data = demo_market(await _reference(ctx, tenant))
    counts = await ctx.runtime.commit(
        tenant, lambda db, session: _write(ctx, tenant, data, db, session), batch_events=True
    )
    made_now = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing new"
    return (
        f"{len(data.posts)} posts, {len(data.groups)} groups, {len(data.volunteers)} volunteers, "
        f"{len(data.matches)} matches, {len(data.transfers)} credit transfers ({made_now})"
    )


async def _write(
    ctx: Context, tenant: str, data: DemoMarket, db: Db, session: Session
) -> tuple[dict[str, int], list[Staged]]:
    r = ctx.repo(db, session)
    counts = dict.fromkeys(("posts", "matches", "messages", "transfers", "groups"), 0)
    events: list[Staged] = []
    broker = Principal(
        subject=data.broker_id,
        tenant=tenant,
        roles=frozenset({"broker"}),
        orgs={WELFARE: frozenset({"broker"})},
    )
    for org in data.organisations:
        if await r.organisation(org.slug) is None:
            await r.save_organisation(org)
    for resident in data.residents:
        if await r.resident(resident.person_id) is None:
            await r.save_resident(resident)
    for person_id in data.brokered_for:
        state = consent.ConsentState(person_id, WELFARE, BROKER_PURPOSE, True, 1, data.reference)
        await consent.apply_change(db, state, session=session)
    groups = {g.id: g for g in data.groups}
    for group in data.groups:
        if await r.get_group(group.id) is None:
            await r.save_group(group)
            counts["groups"] += 1
    for membership in data.memberships:
        if await r.membership(membership.group_id, membership.person_id) is None:
            await r.save_membership(membership)
    for profile in data.volunteers:
        if await r.volunteer(profile.person_id) is None:
            await r.save_volunteer(profile)
    for group in data.groups:
        if group.vog_required:
            for member in await r.members(group.id):
                if not await r.certificates_of(member.person_id):
                    await r.save_certificate(
                        Certificate(
                            organisation=WELFARE,
                            person_id=member.person_id,
                            issued_on=certificate_dates(data.reference),
                            recorded_by=data.broker_id,
                            recorded_at=data.reference,
                        )
                    )
    for post in data.posts:
        if await r.get_post(post.id) is not None:
            continue
        await r.save_post(post)
        counts["posts"] += 1
        events.append(published(post, tenant, post.posted_by or ACTOR))
        if post.broker_org is not None and post.owner_id is not None:
            await r.record_access(
                principal=broker,
                resident=post.owner_id,
                action="create",
                resource=f"post/{post.id}",
                reason=BROKER_PURPOSE,
                on_behalf_of=post.broker_org,
            )
        if post.status is PostStatus.DONE:
            events.append(closed(post, tenant, ACTOR))
    for match in data.matches:
        if await r.get_match(match.id) is not None:
            continue
        await r.save_match(match)
        counts["matches"] += 1
        events.append(made(match, tenant, ACTOR))
        if match.status is MatchStatus.DONE:
            events.append(completed(match, tenant, ACTOR))
    for message in data.messages:
        if await r.get_message(message.id) is None:
            await r.save_message(message)
            counts["messages"] += 1
    for transfer in data.transfers:
        if await r.get_transfer(transfer.id) is not None:
            continue
        group = groups[transfer.from_group_id]
        await book(r, transfer, group, group)
        counts["transfers"] += 1
        events.append(transferred(transfer, tenant, ACTOR))
    return counts, events


async def seed() -> str:
    settings = Settings()
    if not settings.is_dev:
        raise RuntimeError("demo data only in dev mode (WK_ENV=dev)")
    runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=False)
    try:
        return await seed_tenant(Context(runtime, settings), settings.demo_tenant)
    finally:
        runtime.storage.close()
