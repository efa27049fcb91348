"""Use cases of posts: publish (a resident, a broker for a resident, or an organisation),
read, list, change, cancel, renew; and the candidates for a request.

A resident's post is placed in the resident's neighbourhood (identity's profile, projected);
an organisation's names the neighbourhood it serves. Publishing a request tells the
volunteers who fit it best (`notify`). Whoever does not see a post gets 404 for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wijkkracht_common import outbox
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, Forbidden, NotFound
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.marketplace import PostClosed, PostPublished
from wijkkracht_common.outbox import Staged
from wijkkracht_common.ranking import Ranked
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, PostQuery, Repository
from marketplace.domain import posts as rules
from marketplace.domain.categories import Categories
from marketplace.domain.errors import DomainValidationError, FieldError
from marketplace.domain.groups import Group
from marketplace.domain.matching import Candidate
from marketplace.domain.places import (
    DistanceBand,
    Neighbourhood,
    NeighbourhoodTable,
    band_of,
    validate_radius,
)
from marketplace.domain.posts import Post, PostKind, PostStatus, Scope, When
from marketplace.domain.visibility import Viewer, listed, owns, visible
from marketplace.service import notify
from marketplace.service.acting import (
    STAFF_ROLES,
    Acting,
    acting_for,
    log_for,
    log_read,
    viewer_of,
)
from marketplace.service.context import Context
from marketplace.service.publishing import PendingPost
from marketplace.service.sourcing import candidate_sources, volunteers_near

NOT_FOUND = "Oproep niet gevonden. / Post not found."
GROUP_NOT_FOUND = "Groep niet gevonden. / Group not found."


@dataclass(frozen=True)
class PostDraft:
    kind: PostKind
    category: str
    text: str
    radius_km: float
    when: When
    scope: Scope = Scope.TENANT
    group_id: str | None = None
    organisation: str | None = None
    neighbourhood_code: str | None = None
    lifetime_days: int | None = None


@dataclass(frozen=True)
class PostChange:
    text: str | None = None
    when: When | None = None
    radius_km: float | None = None


def not_found() -> NotFound:
    return NotFound(NOT_FOUND)


async def categories_of(ctx: Context, tenant: str) -> Categories:
    return (await ctx.reference(tenant)).categories


async def table_of(ctx: Context, tenant: str) -> NeighbourhoodTable:
    return (await ctx.reference(tenant)).table


def _shape_errors(draft: PostDraft, cats: Categories, owner: str | None) -> list[FieldError]:
    errors: list[FieldError] = []
    if draft.category not in cats:
        errors.append(FieldError("category", f"unknown category {draft.category!r}"))
    for check in (
        lambda: validate_radius(draft.radius_km),
        lambda: rules.lifetime(draft.lifetime_days),
        lambda: rules.check_new_post(
            kind=draft.kind,
            scope=draft.scope,
            group_id=draft.group_id,
            owner_id=owner,
            organisation=draft.organisation,
        ),
    ):
        try:
            check()
        except DomainValidationError as error:
            errors += error.errors
    return errors


async def home_of(r: Repository, table: NeighbourhoodTable, person_id: str) -> Neighbourhood:
    profile = await r.resident(person_id)
    hood = None
    if profile is not None:
        hood = table.get(profile.neighbourhood_code) or table.of_pc4(profile.pc4)
    if hood is None:
        raise Conflict(
            "De wijk van deze bewoner is (nog) niet bekend. / The resident's neighbourhood is "
            "not known (yet).",
            kind="neighbourhood-unknown",
        )
    return hood


async def _group_for_post(
    r: Repository, group_id: str, acting: Acting, organisation: str | None
) -> Group:
    group = await r.get_group(group_id)
    if group is None:
        raise NotFound(GROUP_NOT_FOUND)
    member = await r.membership(group_id, acting.person_id)
    org_staff = organisation is not None and group.organisation == organisation
    if not org_staff and (member is None or not member.active):
        raise NotFound(GROUP_NOT_FOUND)
    return group


async def _organisation_post(
    r: Repository, principal: Principal, draft: PostDraft, table: NeighbourhoodTable
) -> tuple[Acting, Neighbourhood, list[FieldError]]:
    assert draft.organisation is not None
    errors: list[FieldError] = []
    if not principal.roles_in(draft.organisation) & set(STAFF_ROLES):
        raise Forbidden(
            "U handelt niet namens deze organisatie. / You do not act for this organisation.",
            kind="not-organisation-staff",
        )
    if draft.kind is PostKind.OFFER:
        org = await r.organisation(draft.organisation)
        if org is None or not org.is_business:
            errors.append(
                FieldError("organisation", "only local businesses offer as an organisation")
            )
    hood = table.get(draft.neighbourhood_code)
    if hood is None:
        errors.append(FieldError("neighbourhood_code", "unknown neighbourhood"))
        hood = Neighbourhood("", "", 0.0, 0.0)
    person = principal.person_id
    assert person is not None
    return Acting(principal, person), hood, errors


def published(post: Post, tenant: str, actor: str) -> Envelope[PostPublished]:
    return new_event(
        PostPublished(
            post_id=post.id,
            kind=post.kind.value,
            category=post.category,
            neighbourhood_code=post.neighbourhood_code,
            visibility=post.scope.value,
            group_id=post.group_id,
            person_id=post.owner_id,
            organisation_slug=post.organisation,
            brokered=post.broker_org is not None,
        ),
        tenant=tenant,
        subject=post.id,
        actor=actor,
        organisation=post.organisation or post.broker_org,
    )


def closed(post: Post, tenant: str, actor: str | None) -> Envelope[PostClosed]:
    assert post.status in (PostStatus.DONE, PostStatus.CANCELLED, PostStatus.EXPIRED)
    return new_event(
        PostClosed(
            post_id=post.id,
            kind=post.kind.value,
            category=post.category,
            neighbourhood_code=post.neighbourhood_code,
            reason=post.status.value,  # type: ignore[arg-type]
        ),
        tenant=tenant,
        subject=post.id,
        actor=actor,
    )


async def publish(
    ctx: Context, principal: Principal, draft: PostDraft, *, for_person: str | None = None
) -> Post:
    """Reads and checks come first; the transaction holds only the writes (the embedded
    database runs one database's transactions one at a time, so a publication's time in it
    bounds how many posts per second a tenant can take)."""
    now = ctx.now()
    tenant = principal.tenant
    r = await ctx.reader(tenant)
    ref = await ctx.reference(tenant)
    table, cats = ref.table, ref.categories
    if draft.organisation is not None:
        if for_person is not None:
            raise DomainValidationError.single(
                "for_person", "an organisation's post is not made for a resident"
            )
        acting, hood, errors = await _organisation_post(r, principal, draft, table)
        owner: str | None = None
    else:
        acting = await acting_for(r, principal, for_person)
        owner = acting.person_id
        errors = []
        if draft.neighbourhood_code is not None:
            errors.append(
                FieldError("neighbourhood_code", "a resident posts in their own neighbourhood")
            )
    errors = _shape_errors(draft, cats, owner) + errors
    if errors:
        raise DomainValidationError(errors)
    if draft.organisation is None:
        hood = await home_of(r, table, acting.person_id)
    group = None
    if draft.group_id is not None:
        group = await _group_for_post(r, draft.group_id, acting, draft.organisation)
    post = Post(
        id=new_event_id(),
        kind=draft.kind,
        category=draft.category,
        text=draft.text,
        neighbourhood_code=hood.code,
        radius_km=draft.radius_km,
        when=draft.when,
        scope=draft.scope,
        group_id=draft.group_id,
        owner_id=owner,
        organisation=draft.organisation,
        organization_id=(
            await r.social_map_record(draft.organisation) if draft.organisation else None
        ),
        posted_by=principal.subject,
        broker_org=acting.broker_org,
        created_at=now,
        expires_at=now + rules.lifetime(draft.lifetime_days),
    )
    told = []
    if post.kind is PostKind.REQUEST:
        told = await volunteers_near(r, post, table, cats, group)
    link = f"{ctx.settings.public_url}/posts/{post.id}"
    event = published(post, tenant, principal.subject)
    if acting.by_broker:
        # its access record carries this request's trace: a transaction of its own

        async def work(db: Db, session: Session) -> tuple[Post, list[Staged]]:
            w = ctx.repo(db, session)
            await w.save_post(post)
            await log_for(w, acting, action="create", resource=f"post/{post.id}")
            if told:
                await notify.tell_volunteers(w, post, told, categories=cats, now=now, link=link)
            return post, [event]

        return await ctx.commit(tenant, work)
    notifications, mails = notify.notices(post, told, categories=cats, now=now, link=link)
    await ctx.publications.submit(
        tenant, PendingPost(post, notifications, mails, outbox.prepare([event]))
    )
    return post


async def _load_visible(r: Repository, acting: Acting, post_id: str) -> tuple[Post, Viewer]:
    post = await r.get_post(post_id)
    if post is None:
        raise not_found()
    viewer = await viewer_of(r, acting, with_matches=True)
    if not visible(post, viewer):
        raise not_found()
    return post, viewer


@dataclass(frozen=True)
class Shown:
    """A post as one person sees it: theirs or not, and how far from them (a band)."""

    post: Post
    mine: bool
    band: DistanceBand | None


def _band(table: NeighbourhoodTable, viewer: Viewer, post: Post) -> DistanceBand | None:
    home = table.get(viewer.neighbourhood_code)
    there = table.get(post.neighbourhood_code)
    return band_of(home, there) if home is not None and there is not None else None


async def read(
    ctx: Context, principal: Principal, post_id: str, *, for_person: str | None = None
) -> Shown:
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    post, viewer = await _load_visible(r, acting, post_id)
    await log_read(ctx, acting, f"post/{post.id}")
    return Shown(
        post, owns(post, viewer), _band(await table_of(ctx, principal.tenant), viewer, post)
    )


async def market(
    ctx: Context,
    principal: Principal,
    *,
    query: PostQuery,
    limit: int,
    cursor: str | None,
    for_person: str | None = None,
) -> tuple[list[Shown], str | None]:
    """Open posts the caller (or the resident a broker acts for) may see, newest first."""
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    viewer = await viewer_of(r, acting)
    query = PostQuery(
        status=PostStatus.OPEN,
        kind=query.kind,
        category=query.category,
        neighbourhood_code=query.neighbourhood_code,
        group_id=query.group_id,
    )
    found, next_cursor = await r.posts_page(
        query, lambda p: listed(p, viewer), limit=limit, cursor=cursor
    )
    table = await table_of(ctx, principal.tenant)
    return [Shown(p, False, _band(table, viewer, p)) for p in found], next_cursor


async def mine(
    ctx: Context,
    principal: Principal,
    *,
    status: PostStatus | None,
    limit: int,
    cursor: str | None,
    for_person: str | None = None,
) -> tuple[list[Post], str | None]:
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    page = await r.posts_page(
        PostQuery(status=status, owner_id=acting.person_id),
        lambda _: True,
        limit=limit,
        cursor=cursor,
    )
    if acting.by_broker:
        await log_read(ctx, acting, "posts/mine")
    return page


async def of_organisation(
    ctx: Context, principal: Principal, organisation: str, *, limit: int, cursor: str | None
) -> tuple[list[Post], str | None]:
    if not principal.roles_in(organisation) & set(STAFF_ROLES):
        raise NotFound("Organisatie niet gevonden. / Organisation not found.")
    r = await ctx.reader(principal.tenant)
    return await r.posts_page(
        PostQuery(organisation=organisation), lambda _: True, limit=limit, cursor=cursor
    )


async def _change(
    ctx: Context,
    principal: Principal,
    post_id: str,
    for_person: str | None,
    action: str,
    decide: Any,
) -> Post:
    """Load, check ownership (404 for whoever may not change it), decide, save, emit."""
    tenant = principal.tenant

    async def work(db: Db, session: Session) -> tuple[Post, list[Staged]]:
        r = ctx.repo(db, session)
        acting = await acting_for(r, principal, for_person)
        post, viewer = await _load_visible(r, acting, post_id)
        if not owns(post, viewer):
            raise not_found()
        changed: Post = decide(post)
        await r.save_post(changed)
        await log_for(r, acting, action="update", resource=f"post/{post.id}")
        events: list[Staged] = []
        if changed.status is not post.status and not changed.is_active:
            events.append(closed(changed, tenant, principal.subject))
        elif post.status is PostStatus.EXPIRED and changed.status is PostStatus.OPEN:
            events.append(published(changed, tenant, principal.subject))
        return changed, events

    return await ctx.commit(tenant, work)


async def update(
    ctx: Context,
    principal: Principal,
    post_id: str,
    change: PostChange,
    *,
    for_person: str | None = None,
) -> Post:
    if change.radius_km is not None:
        validate_radius(change.radius_km)

    def decide(post: Post) -> Post:
        return rules.revise(post, text=change.text, when=change.when, radius_km=change.radius_km)

    return await _change(ctx, principal, post_id, for_person, "update", decide)


async def cancel(
    ctx: Context, principal: Principal, post_id: str, *, for_person: str | None = None
) -> Post:
    now = ctx.now()
    return await _change(
        ctx, principal, post_id, for_person, "cancel", lambda p: rules.cancel(p, now)
    )


async def renew(
    ctx: Context,
    principal: Principal,
    post_id: str,
    *,
    days: int | None = None,
    for_person: str | None = None,
) -> Post:
    now = ctx.now()
    return await _change(
        ctx, principal, post_id, for_person, "renew", lambda p: rules.renew(p, now, days)
    )


async def candidates(
    ctx: Context,
    principal: Principal,
    post_id: str,
    *,
    limit: int = 20,
    for_person: str | None = None,
) -> tuple[Post, list[Ranked[Candidate]]]:
    """Ranked candidates for the owner side of a request."""
    tenant = principal.tenant
    r = await ctx.reader(tenant)
    acting = await acting_for(r, principal, for_person)
    post = await r.get_post(post_id)
    # the owner side only: decided without the viewer's other data
    if (
        post is None
        or post.kind is not PostKind.REQUEST
        or not owns(post, Viewer(acting.person_id, staff_of=acting.staff_of))
    ):
        raise not_found()
    viewer = await viewer_of(r, acting)
    ref = await ctx.reference(tenant)
    group = await r.get_group(post.group_id) if post.group_id else None
    # the owner asks (or a broker for them): the viewer's blocks are the owner's, read once
    owner_blocks = viewer.blocked if viewer.person_id == post.owner_id else None
    ranked = await candidate_sources(
        r, post, viewer, ref.table, ref.categories, group, limit=limit, owner_blocks=owner_blocks
    )
    await log_read(ctx, acting, f"post/{post.id}/candidates")
    return post, ranked
