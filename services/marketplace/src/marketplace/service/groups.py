"""Use cases of groups: create (an organisation's staff, or residents as an initiative),
join and leave, invite, approve, appoint moderators, change the group's settings.

Everyone in the tenant sees that a group exists (to ask to join it); its members list and
its posts are for its members only (404 for anyone else).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden, NotFound
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, Repository
from marketplace.domain import groups as rules
from marketplace.domain.errors import DomainValidationError, FieldError
from marketplace.domain.groups import (
    CreditPolicy,
    Group,
    GroupKind,
    GroupOwner,
    MemberRole,
    Membership,
    MemberStatus,
)
from marketplace.service.acting import STAFF_ROLES, acting_for, log_for
from marketplace.service.context import Context
from marketplace.service.posts import categories_of

NOT_FOUND = "Groep niet gevonden. / Group not found."


@dataclass(frozen=True)
class GroupDraft:
    name: str
    kind: GroupKind
    organisation: str | None = None
    credits: CreditPolicy = field(default_factory=CreditPolicy)
    vog_required: bool = False
    home_visit_categories: list[str] | None = None


@dataclass(frozen=True)
class GroupSettings:
    name: str | None = None
    credits: CreditPolicy | None = None
    vog_required: bool | None = None
    home_visit_categories: list[str] | None = None


def _not_found() -> NotFound:
    return NotFound(NOT_FOUND)


def _me(principal: Principal) -> str:
    assert principal.person_id is not None  # routes require a person
    return principal.person_id


async def _group(r: Repository, group_id: str) -> Group:
    group = await r.get_group(group_id)
    if group is None:
        raise _not_found()
    return group


async def _moderator(r: Repository, principal: Principal, group: Group) -> None:
    """Moderators, and the owning organisation's staff, manage a group; others get 404 for
    what only members may know, 403 for what they may see but not do."""
    if group.organisation is not None and principal.roles_in(group.organisation) & set(STAFF_ROLES):
        return
    member = await r.membership(group.id, _me(principal))
    if member is None or not member.active:
        raise _not_found()
    if not member.moderates:
        raise Forbidden(
            "Alleen moderatoren van de groep kunnen dit. / Only the group's moderators can do "
            "this.",
            kind="not-a-moderator",
        )


async def _check_categories(ctx: Context, tenant: str, codes: list[str] | None) -> None:
    if codes is None:
        return
    cats = await categories_of(ctx, tenant)
    errors = [
        FieldError(f"home_visit_categories[{i}]", f"unknown category {c!r}")
        for i, c in enumerate(codes)
        if c not in cats
    ]
    if errors:
        raise DomainValidationError(errors)


async def create(ctx: Context, principal: Principal, draft: GroupDraft) -> Group:
    now = ctx.now()
    me = _me(principal)
    if draft.organisation is not None and not principal.roles_in(draft.organisation) & set(
        STAFF_ROLES
    ):
        raise Forbidden(
            "U handelt niet namens deze organisatie. / You do not act for this organisation.",
            kind="not-organisation-staff",
        )

    async def work(db: Db, session: Session) -> tuple[Group, list[Staged]]:
        r = ctx.repo(db, session)
        await _check_categories(ctx, principal.tenant, draft.home_visit_categories)
        extra = (
            {"home_visit_categories": draft.home_visit_categories}
            if draft.home_visit_categories is not None
            else {}
        )
        group = Group(
            id=new_event_id(),
            name=draft.name,
            kind=draft.kind,
            owner=GroupOwner.ORGANISATION if draft.organisation else GroupOwner.INITIATIVE,
            organisation=draft.organisation,
            created_by=me,
            created_at=now,
            credits=draft.credits,
            vog_required=draft.vog_required,
            **extra,
        )
        await r.save_group(group)
        await r.save_membership(
            Membership(
                group_id=group.id,
                person_id=me,
                role=MemberRole.MODERATOR,
                status=MemberStatus.ACTIVE,
                since=now,
            )
        )
        return group, []

    return await ctx.commit(principal.tenant, work)


async def read(
    ctx: Context, principal: Principal, group_id: str
) -> tuple[Group, Membership | None]:
    r = await ctx.reader(principal.tenant)
    group = await _group(r, group_id)
    return group, await r.membership(group_id, _me(principal))


async def listing(ctx: Context, principal: Principal) -> list[tuple[Group, Membership | None]]:
    r = await ctx.reader(principal.tenant)
    mine = {m.group_id: m for m in await r.memberships_of(_me(principal))}
    return [(g, mine.get(g.id)) for g in await r.groups()]


async def change_settings(
    ctx: Context, principal: Principal, group_id: str, change: GroupSettings
) -> Group:
    async def work(db: Db, session: Session) -> tuple[Group, list[Staged]]:
        r = ctx.repo(db, session)
        group = await _group(r, group_id)
        await _moderator(r, principal, group)
        await _check_categories(ctx, principal.tenant, change.home_visit_categories)
        fields = {k: v for k, v in vars(change).items() if v is not None}
        updated = Group.model_validate(
            {**group.model_dump(), **fields, "version": group.version + 1}
        )
        await r.save_group(updated)
        return updated, []

    return await ctx.commit(principal.tenant, work)


async def join(
    ctx: Context, principal: Principal, group_id: str, *, for_person: str | None = None
) -> Membership:
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[Membership, list[Staged]]:
        r = ctx.repo(db, session)
        acting = await acting_for(r, principal, for_person)
        group = await _group(r, group_id)
        membership = rules.join(
            group, acting.person_id, await r.membership(group_id, acting.person_id), now
        )
        await r.save_membership(membership)
        await log_for(r, acting, action="update", resource=f"group/{group_id}/membership")
        return membership, []

    return await ctx.commit(principal.tenant, work)


async def leave(
    ctx: Context, principal: Principal, group_id: str, *, for_person: str | None = None
) -> None:
    async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
        r = ctx.repo(db, session)
        acting = await acting_for(r, principal, for_person)
        await _group(r, group_id)
        if await r.membership(group_id, acting.person_id) is None:
            raise _not_found()
        await r.delete_membership(group_id, acting.person_id)
        return None, []

    await ctx.commit(principal.tenant, work)


async def _manage(
    ctx: Context, principal: Principal, group_id: str, person_id: str, action: str
) -> Membership:
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[Membership, list[Staged]]:
        r = ctx.repo(db, session)
        group = await _group(r, group_id)
        await _moderator(r, principal, group)
        existing = await r.membership(group_id, person_id)
        if action == "invite":
            membership = rules.invite(group, person_id, existing, now)
        elif action == "approve":
            membership = rules.approve(existing, now)
        else:
            membership = rules.appoint_moderator(existing)
        await r.save_membership(membership)
        return membership, []

    return await ctx.commit(principal.tenant, work)


async def invite(ctx: Context, principal: Principal, group_id: str, person_id: str) -> Membership:
    return await _manage(ctx, principal, group_id, person_id, "invite")


async def approve(ctx: Context, principal: Principal, group_id: str, person_id: str) -> Membership:
    return await _manage(ctx, principal, group_id, person_id, "approve")


async def appoint(ctx: Context, principal: Principal, group_id: str, person_id: str) -> Membership:
    return await _manage(ctx, principal, group_id, person_id, "appoint")


async def members(ctx: Context, principal: Principal, group_id: str) -> list[Membership]:
    """Active members see the active members; moderators also see invitations and requests."""
    r = await ctx.reader(principal.tenant)
    group = await _group(r, group_id)
    me = await r.membership(group_id, _me(principal))
    staff = group.organisation is not None and bool(
        principal.roles_in(group.organisation) & set(STAFF_ROLES)
    )
    if not staff and (me is None or not me.active):
        raise _not_found()
    everyone = await r.members(group_id)
    if staff or (me is not None and me.moderates):
        return everyone
    return [m for m in everyone if m.active]
