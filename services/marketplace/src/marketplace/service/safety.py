"""Use cases of safety: report a post or a message (hidden from others at once, until a
moderator of its group, or of the tenant, decides), block and unblock a person, and record
a volunteer's certificate of conduct (VOG) for an organisation."""

from __future__ import annotations

from datetime import date

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden, NotFound
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, Repository
from marketplace.domain import posts as post_rules
from marketplace.domain import safety as rules
from marketplace.domain.errors import DomainValidationError
from marketplace.domain.safety import (
    Block,
    Certificate,
    Report,
    ReportReason,
    ReportTarget,
)
from marketplace.domain.visibility import visible
from marketplace.service.acting import (
    STAFF_ROLES,
    TENANT_MODERATOR_ROLES,
    acting_for,
    viewer_of,
)
from marketplace.service.context import Context
from marketplace.service.matches import MATCH_NOT_FOUND
from marketplace.service.posts import not_found

REPORT_NOT_FOUND = "Melding niet gevonden. / Report not found."


def _me(principal: Principal) -> str:
    assert principal.person_id is not None
    return principal.person_id


async def _target(
    r: Repository, principal: Principal, target: ReportTarget, target_id: str
) -> tuple[str | None, str | None]:
    """(group id, author) of what is reported, if the reporter can see it; else 404."""
    acting = await acting_for(r, principal, None)
    if target is ReportTarget.POST:
        post = await r.get_post(target_id)
        if post is None or not visible(post, await viewer_of(r, acting, with_matches=True)):
            raise not_found()
        await r.save_post(post_rules.under_review(post, True))
        return post.group_id, post.owner_id or post.posted_by
    message = await r.get_message(target_id)
    match = await r.get_match(message.match_id) if message is not None else None
    if message is None or match is None or acting.person_id not in match.parties:
        raise NotFound(MATCH_NOT_FOUND)
    await r.save_message(message.model_copy(update={"under_review": True}))
    post = await r.get_post(match.post_id)
    return (post.group_id if post else None), message.sender_id


async def report(
    ctx: Context,
    principal: Principal,
    target: ReportTarget,
    target_id: str,
    reason: ReportReason,
    note: str = "",
) -> Report:
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[Report, list[Staged]]:
        r = ctx.repo(db, session)
        group_id, author = await _target(r, principal, target, target_id)
        if author == _me(principal):
            raise DomainValidationError.single("target_id", "one does not report oneself")
        item = Report(
            id=new_event_id(),
            target=target,
            target_id=target_id,
            group_id=group_id,
            reporter_id=_me(principal),
            author_id=author,
            reason=reason,
            note=note,
            created_at=now,
        )
        await r.save_report(item)
        return item, []

    return await ctx.commit(principal.tenant, work)


async def _may_review(r: Repository, principal: Principal, group_id: str | None) -> bool:
    if principal.has_role(*TENANT_MODERATOR_ROLES):
        return True
    if group_id is None:
        return False
    group = await r.get_group(group_id)
    if group is None:
        return False
    if group.organisation is not None and principal.roles_in(group.organisation) & set(STAFF_ROLES):
        return True
    member = await r.membership(group_id, _me(principal))
    return member is not None and member.moderates


async def open_reports(ctx: Context, principal: Principal, group_id: str | None) -> list[Report]:
    r = await ctx.reader(principal.tenant)
    if not await _may_review(r, principal, group_id):
        raise Forbidden(
            "Alleen moderatoren zien meldingen. / Only moderators see reports.",
            kind="not-a-moderator",
        )
    return await r.open_reports(group_id)


async def decide(ctx: Context, principal: Principal, report_id: str, *, uphold: bool) -> Report:
    """Upheld: what was reported stays hidden. Dismissed: it is shown again."""
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[Report, list[Staged]]:
        r = ctx.repo(db, session)
        item = await r.get_report(report_id)
        if item is None or not await _may_review(r, principal, item.group_id):
            raise NotFound(REPORT_NOT_FOUND)
        decided = rules.decide(item, uphold=uphold, by=_me(principal), now=now)
        await r.save_report(decided)
        if not uphold:
            if item.target is ReportTarget.POST:
                post = await r.get_post(item.target_id)
                if post is not None:
                    await r.save_post(post_rules.under_review(post, False))
            else:
                message = await r.get_message(item.target_id)
                if message is not None:
                    await r.save_message(message.model_copy(update={"under_review": False}))
        return decided, []

    return await ctx.commit(principal.tenant, work)


async def block(
    ctx: Context, principal: Principal, *, person_id: str | None, post_id: str | None
) -> Block:
    """Block a person, or the author of a post one sees (without learning who it is)."""
    now = ctx.now()
    me = _me(principal)

    async def work(db: Db, session: Session) -> tuple[Block, list[Staged]]:
        r = ctx.repo(db, session)
        blocked = person_id
        if post_id is not None:
            post = await r.get_post(post_id)
            viewer = await viewer_of(r, await acting_for(r, principal, None))
            if post is None or not visible(post, viewer) or post.owner_id is None:
                raise not_found()
            blocked = post.owner_id
        assert blocked is not None
        if blocked == me:
            raise DomainValidationError.single("person_id", "one does not block oneself")
        item = Block(blocker_id=me, blocked_id=blocked, at=now)
        await r.save_block(item)
        return item, []

    return await ctx.commit(principal.tenant, work)


async def unblock(ctx: Context, principal: Principal, person_id: str) -> None:
    async def work(db: Db, session: Session) -> tuple[bool, list[Staged]]:
        return await ctx.repo(db, session).delete_block(_me(principal), person_id), []

    if not await ctx.commit(principal.tenant, work):
        raise NotFound("Blokkade niet gevonden. / Block not found.")


async def record_certificate(
    ctx: Context, principal: Principal, organisation: str, person_id: str, issued_on: date
) -> Certificate:
    """An organisation's staff record that they saw the volunteer's VOG (date only)."""
    now = ctx.now()
    if not principal.roles_in(organisation) & set(STAFF_ROLES):
        raise Forbidden(
            "U handelt niet namens deze organisatie. / You do not act for this organisation.",
            kind="not-organisation-staff",
        )
    if issued_on > now.date():
        raise DomainValidationError.single("issued_on", "a certificate is not issued in the future")

    async def work(db: Db, session: Session) -> tuple[Certificate, list[Staged]]:
        r = ctx.repo(db, session)
        item = Certificate(
            organisation=organisation,
            person_id=person_id,
            issued_on=issued_on,
            recorded_by=_me(principal),
            recorded_at=now,
        )
        await r.save_certificate(item)
        await r.record_access(
            principal=principal,
            resident=person_id,
            action="create",
            resource=f"certificate/{organisation}",
            reason="vog",
            on_behalf_of=organisation,
        )
        return item, []

    return await ctx.commit(principal.tenant, work)


async def certificates(
    ctx: Context, principal: Principal, person_id: str | None
) -> list[Certificate]:
    """One's own certificates; an organisation's staff see those recorded by their
    organisations (logged)."""
    r = await ctx.reader(principal.tenant)
    me = _me(principal)
    if person_id is None or person_id == me:
        return await r.certificates_of(me)
    orgs = set(principal.organisations_with(*STAFF_ROLES))
    shown = [c for c in await r.certificates_of(person_id) if c.organisation in orgs]
    if not shown:
        raise NotFound("Persoon niet gevonden. / Person not found.")

    async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
        repo = ctx.repo(db, session)
        for org in sorted({c.organisation for c in shown}):
            await repo.record_access(
                principal=principal,
                resident=person_id,
                action="read",
                resource="certificates",
                reason="vog",
                on_behalf_of=org,
            )
        return None, []

    await ctx.commit(principal.tenant, work)
    return shown
