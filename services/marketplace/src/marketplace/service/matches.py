"""Use cases of matches and their messages: respond to a post, accept or decline a
response, withdraw, share contact details, mark the help done; send and read messages.

Only the two sides of a match see it (the responder; the post's owner, or the posting
organisation's staff), and a broker acting for one of them (logged). Everyone else: 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, NotFound
from wijkkracht_common.events.envelope import new_event, new_event_id
from wijkkracht_common.events.marketplace import HelpCompleted, MatchMade
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, Repository
from marketplace.domain import matches as rules
from marketplace.domain import posts as post_rules
from marketplace.domain.errors import StateConflict
from marketplace.domain.matches import Match, MatchStatus
from marketplace.domain.messages import Message
from marketplace.domain.notifications import NotificationKind
from marketplace.domain.posts import Post, PostKind
from marketplace.domain.visibility import owns, visible
from marketplace.service import notify
from marketplace.service.acting import Acting, acting_for, log_for, log_read, viewer_of
from marketplace.service.context import Context
from marketplace.service.posts import closed, not_found

MATCH_NOT_FOUND = "Match niet gevonden. / Match not found."


@dataclass(frozen=True)
class Side:
    """How the acting person takes part in a match."""

    match: Match
    acting: Acting
    owner_side: bool  # the post's side (else the responder)

    @property
    def party_id(self) -> str:
        """The id the acting side is known by in the match (contacts, messages)."""
        return self.acting.person_id


def _match_not_found() -> NotFound:
    return NotFound(MATCH_NOT_FOUND)


async def _side(r: Repository, acting: Acting, match_id: str) -> Side:
    match = await r.get_match(match_id)
    if match is None:
        raise _match_not_found()
    if match.responder_id == acting.person_id:
        return Side(match, acting, owner_side=False)
    if match.owner_id is not None and match.owner_id == acting.person_id:
        return Side(match, acting, owner_side=True)
    if match.owner_id is None and match.organisation in acting.staff_of:
        return Side(match, acting, owner_side=True)
    raise _match_not_found()


async def _vog_ok(r: Repository, post: Post, helper: str, now: datetime) -> bool:
    if post.group_id is None:
        return True
    group = await r.get_group(post.group_id)
    if group is None or not group.needs_vog(post.category):
        return True
    return any(c.valid_on(now.date()) for c in await r.certificates_of(helper))


def made(match: Match, tenant: str, actor: str) -> Staged:
    return new_event(
        MatchMade(
            match_id=match.id,
            post_id=match.post_id,
            category=match.category,
            neighbourhood_code=match.neighbourhood_code,
            helper_id=match.helper_id,
            helped_person_id=match.helped_id,
            organisation_slug=match.organisation,
        ),
        tenant=tenant,
        subject=match.id,
        actor=actor,
    )


def completed(match: Match, tenant: str, actor: str) -> Staged:
    assert match.done_at is not None
    return new_event(
        HelpCompleted(
            match_id=match.id,
            post_id=match.post_id,
            category=match.category,
            neighbourhood_code=match.neighbourhood_code,
            helper_id=match.helper_id,
            helped_person_id=match.helped_id,
            organisation_slug=match.organisation,
            completed_at=match.done_at,
        ),
        tenant=tenant,
        subject=match.id,
        actor=actor,
    )


async def respond(
    ctx: Context,
    principal: Principal,
    post_id: str,
    *,
    message: str | None = None,
    for_person: str | None = None,
) -> Side:
    """Respond to someone else's open post. Responding again returns the open match."""
    now = ctx.now()
    tenant = principal.tenant

    async def work(db: Db, session: Session) -> tuple[Side, list[Staged]]:
        r = ctx.repo(db, session)
        acting = await acting_for(r, principal, for_person)
        post = await r.get_post(post_id)
        if post is None:
            raise not_found()
        viewer = await viewer_of(r, acting)
        if not visible(post, viewer) or owns(post, viewer):
            raise not_found()
        for existing in await r.matches_of_post(post.id):
            if existing.responder_id == acting.person_id and existing.status in rules.OPEN_STATUSES:
                return Side(existing, acting, owner_side=False), []
        if post.status is not post_rules.PostStatus.OPEN:
            raise StateConflict("post-closed", *post_rules.CLOSED_TEXT)
        helper = acting.person_id if post.kind is not PostKind.OFFER else post.owner_id
        if helper is not None and not await _vog_ok(r, post, helper, now):
            raise Conflict(
                "Deze groep vraagt voor deze hulp een geldige VOG. / This group requires a "
                "valid certificate of conduct (VOG) for this kind of help.",
                kind="vog-required",
            )
        match = Match(
            id=new_event_id(),
            post_id=post.id,
            post_kind=post.kind,
            category=post.category,
            neighbourhood_code=post.neighbourhood_code,
            owner_id=post.owner_id,
            organisation=post.organisation,
            responder_id=acting.person_id,
            created_at=now,
        )
        await r.save_match(match)
        first = post.first_response_at is None
        await r.save_post(post_rules.responded(post, now))
        profile = await r.volunteer(acting.person_id)
        if first and profile is not None and post.kind is PostKind.REQUEST:
            hours = (now - post.created_at).total_seconds() / 3600
            await r.save_volunteer(profile.with_response(hours))
        if message:
            await r.save_message(_message(match, acting, message, now))
        if post.owner_id is not None:
            await r.add_notifications(
                [
                    notify.notification(
                        post.owner_id, NotificationKind.RESPONSE, now, post=post, match_id=match.id
                    )
                ]
            )
        await log_for(r, acting, action="create", resource=f"match/{match.id}")
        return Side(match, acting, owner_side=False), []

    return await ctx.commit(tenant, work)


def _message(match: Match, acting: Acting, text: str, now: datetime) -> Message:
    return Message(
        id=new_event_id(),
        match_id=match.id,
        sender_id=acting.person_id,
        written_by=acting.principal.subject if acting.by_broker else None,
        text=text,
        at=now,
    )


async def _on_match(
    ctx: Context,
    principal: Principal,
    match_id: str,
    for_person: str | None,
    action: str,
    decide: Decision,
) -> Side:
    """Load the acting side's match, decide (`decide(side, r)` returns the new match and the
    events), save, log."""
    tenant = principal.tenant

    async def work(db: Db, session: Session) -> tuple[Side, list[Staged]]:
        r = ctx.repo(db, session)
        acting = await acting_for(r, principal, for_person)
        side = await _side(r, acting, match_id)
        changed, events = await decide(side, r)
        if changed is not side.match:
            await r.save_match(changed)
        await log_for(r, acting, action="update", resource=f"match/{match_id}/{action}")
        return Side(changed, acting, side.owner_side), events

    return await ctx.commit(tenant, work)


Decision = Callable[[Side, Repository], Awaitable[tuple[Match, list[Staged]]]]


def _owner_only(side: Side) -> None:
    if not side.owner_side:
        raise _match_not_found()


async def accept(
    ctx: Context, principal: Principal, match_id: str, *, for_person: str | None = None
) -> Side:
    now = ctx.now()

    async def decide(side: Side, r: Repository) -> tuple[Match, list[Staged]]:
        _owner_only(side)
        if side.match.status is MatchStatus.ACCEPTED:
            return side.match, []
        post = await r.get_post(side.match.post_id)
        if post is None:
            raise _match_not_found()
        changed = rules.accept(side.match, now)
        await r.save_post(post_rules.matched(post))
        await r.add_notifications(
            [
                notify.notification(
                    changed.responder_id,
                    NotificationKind.MATCH_ACCEPTED,
                    now,
                    post=post,
                    match_id=changed.id,
                )
            ]
        )
        return changed, [made(changed, principal.tenant, principal.subject)]

    return await _on_match(ctx, principal, match_id, for_person, "accept", decide)


async def decline(
    ctx: Context, principal: Principal, match_id: str, *, for_person: str | None = None
) -> Side:
    async def decide(side: Side, _: Repository) -> tuple[Match, list[Staged]]:
        _owner_only(side)
        return rules.decline(side.match), []

    return await _on_match(ctx, principal, match_id, for_person, "decline", decide)


async def withdraw(
    ctx: Context, principal: Principal, match_id: str, *, for_person: str | None = None
) -> Side:
    async def decide(side: Side, r: Repository) -> tuple[Match, list[Staged]]:
        if side.owner_side:
            raise _match_not_found()
        changed = rules.withdraw(side.match)
        post = await r.get_post(side.match.post_id)
        if post is not None and side.match.status is MatchStatus.ACCEPTED:
            # the post goes back on the market if nobody else was accepted
            others = [
                m
                for m in await r.matches_of_post(post.id)
                if m.id != changed.id and m.status is MatchStatus.ACCEPTED
            ]
            if not others and post.status is post_rules.PostStatus.MATCHED:
                reopened = post.model_copy(
                    update={"status": post_rules.PostStatus.OPEN, "version": post.version + 1}
                )
                await r.save_post(reopened)
        return changed, []

    return await _on_match(ctx, principal, match_id, for_person, "withdraw", decide)


async def complete(
    ctx: Context, principal: Principal, match_id: str, *, for_person: str | None = None
) -> Side:
    """Either side marks the help done: help completed, the post is done."""
    now = ctx.now()

    async def decide(side: Side, r: Repository) -> tuple[Match, list[Staged]]:
        if side.match.status is MatchStatus.DONE:
            return side.match, []
        changed = rules.complete(side.match, now)
        events: list[Staged] = [completed(changed, principal.tenant, principal.subject)]
        post = await r.get_post(changed.post_id)
        if post is not None and post.status is not post_rules.PostStatus.DONE:
            finished = post_rules.done(post, now)
            await r.save_post(finished)
            events.append(closed(finished, principal.tenant, principal.subject))
        other = changed.other_party(side.party_id) if not side.owner_side else changed.responder_id
        if other is not None:
            await r.add_notifications(
                [
                    notify.notification(
                        other, NotificationKind.HELP_DONE, now, post=post, match_id=changed.id
                    )
                ]
            )
        return changed, events

    return await _on_match(ctx, principal, match_id, for_person, "done", decide)


async def share_contact(
    ctx: Context,
    principal: Principal,
    match_id: str,
    contact: str,
    *,
    for_person: str | None = None,
) -> Side:
    async def decide(side: Side, _: Repository) -> tuple[Match, list[Staged]]:
        return rules.share_contact(side.match, side.party_id, contact), []

    return await _on_match(ctx, principal, match_id, for_person, "share-contact", decide)


async def read(
    ctx: Context, principal: Principal, match_id: str, *, for_person: str | None = None
) -> Side:
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    side = await _side(r, acting, match_id)
    await log_read(ctx, acting, f"match/{match_id}")
    return side


async def of_post(
    ctx: Context, principal: Principal, post_id: str, *, for_person: str | None = None
) -> list[Side]:
    """The responses to a post, for its owner side."""
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    post = await r.get_post(post_id)
    viewer = await viewer_of(r, acting)
    if post is None or not owns(post, viewer):
        raise not_found()
    await log_read(ctx, acting, f"post/{post.id}/matches")
    return [Side(m, acting, owner_side=True) for m in await r.matches_of_post(post.id)]


async def mine(ctx: Context, principal: Principal, *, for_person: str | None = None) -> list[Side]:
    """The matches the person takes part in (as responder, or as the post's owner)."""
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    found = await r.matches_of_person(acting.person_id)
    await log_read(ctx, acting, "matches/mine")
    return [Side(m, acting, owner_side=m.responder_id != acting.person_id) for m in found]


async def send(
    ctx: Context,
    principal: Principal,
    match_id: str,
    text: str,
    *,
    for_person: str | None = None,
) -> Message:
    now = ctx.now()
    tenant = principal.tenant

    async def work(db: Db, session: Session) -> tuple[Message, list[Staged]]:
        r = ctx.repo(db, session)
        acting = await acting_for(r, principal, for_person)
        side = await _side(r, acting, match_id)
        match = side.match
        if match.status not in (*rules.OPEN_STATUSES, MatchStatus.DONE):
            raise StateConflict(
                "match-closed", "Deze match is afgesloten.", "This match is closed."
            )
        other = match.owner_id if not side.owner_side else match.responder_id
        blocked = await r.blocked_either_way(acting.person_id)
        if other is not None and other in blocked:
            raise Conflict(
                "U kunt deze persoon geen berichten sturen. / You cannot message this person.",
                kind="blocked",
            )
        message = _message(match, acting, text, now)
        await r.save_message(message)
        if other is not None:
            await r.add_notifications(
                [notify.notification(other, NotificationKind.MESSAGE, now, match_id=match.id)]
            )
        await log_for(r, acting, action="create", resource=f"match/{match_id}/message")
        return message, []

    return await ctx.commit(tenant, work)


async def messages(
    ctx: Context, principal: Principal, match_id: str, *, for_person: str | None = None
) -> tuple[Side, list[Message]]:
    """The match's messages; one under review is shown to its sender only."""
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    side = await _side(r, acting, match_id)
    shown = [
        m
        for m in await r.messages(match_id)
        if not m.under_review or m.sender_id == acting.person_id
    ]
    await log_read(ctx, acting, f"match/{match_id}/messages")
    return side, shown
