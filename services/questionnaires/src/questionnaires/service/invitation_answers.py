"""An invited resident's answers reaching the conversation (issue "An invited resident's
answers never reach the conversation").

At the end of an invited response the resident chooses, in plain words
(`responses.invitation_share`), whether the inviting organisation may see the answers
(`choose`). Yes: the choice is stored on the response (`InviterShare`, which the result views
honour, `access.viewer_of`) and `invitation_answers_shared` is published in the same
transaction, with the person when the response has one, so identity records it as a
`share_results` consent for that organisation (revocable like any other). A resident who
filled in the questionnaire from the e-mail link, without an account, can attach the response
to the account made later (`attach`: the link's token as proof); a response shared before is
then published again with the person.

Repeated requests change nothing and publish nothing. "No" after "yes" withdraws the share of
a response without a person; with a person it is a consent, revoked in identity (409).
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, Forbidden
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.questionnaires import InvitationAnswersShared

from questionnaires.adapters.repositories import Repositories
from questionnaires.domain.response_record import InviterShare, ResponseRecord
from questionnaires.service import access, invitations, responses
from questionnaires.service.context import Context
from questionnaires.service.problems import not_found
from questionnaires.service.tokens import MAX_TOKEN_LENGTH, hash_token


def shared_event(
    record: ResponseRecord, share: InviterShare, *, tenant: str, actor: str | None
) -> Envelope[InvitationAnswersShared]:
    assert record.invitation_id is not None
    return new_event(
        InvitationAnswersShared(
            invitation_id=record.invitation_id,
            response_id=record.id,
            organisation_slug=share.organisation,
            person_id=record.person_id,
        ),
        tenant=tenant,
        subject=record.id,
        actor=actor,
        organisation=share.organisation,
    )


async def _inviting_organisation(ctx: Context, tenant: str, record: ResponseRecord) -> str:
    invitation_id = record.invitation_id
    invitation = await invitations.load(ctx, tenant, invitation_id) if invitation_id else None
    if invitation is None or invitation.organisation is None:
        raise Conflict(
            "Deze vragenlijst is niet door een organisatie uitgenodigd. / No organisation "
            "invited you to fill in this questionnaire.",
            kind="not-invited",
        )
    return invitation.organisation


async def choose(
    ctx: Context, tenant: str, record: ResponseRecord, *, share: bool, actor: str | None
) -> dict[str, Any]:
    """The resident's choice for `record` (already authorised: the owner, or the resume
    token of an anonymous response); returns the response's representation."""
    organisation = await _inviting_organisation(ctx, tenant, record)
    now = ctx.now()

    async def work(repos: Repositories) -> tuple[ResponseRecord, list[Envelope[Any]]]:
        current = await repos.responses.get(record.id)
        if current is None:
            raise not_found(responses.RESPONSE)
        before = current.inviter_share
        if before is not None and (before.organisation, before.shared) == (organisation, share):
            return current, []  # chosen so before
        if before is not None and before.shared and not share and current.person_id:
            raise Conflict(
                "U gaf toestemming; intrekken doet u bij uw toestemmingen. / You gave "
                "consent; take it back in your consent settings.",
                kind="share-is-consent",
                organisation=organisation,
                purpose="share_results",
            )
        chosen = InviterShare(organisation, share, now)
        await repos.responses.set_inviter_share(current.id, chosen)
        shared = current.with_inviter_share(chosen)
        events = [shared_event(shared, chosen, tenant=tenant, actor=actor)] if share else []
        return shared, events

    return responses.present(await ctx.commit(tenant, work))


async def choose_as(
    ctx: Context, principal: Principal, response_id: str, *, share: bool
) -> dict[str, Any]:
    """The choice by the resident the response belongs to (anyone else: 404)."""
    record = await responses.load(ctx, principal.tenant, response_id)
    if not access.is_owner(principal, record):
        raise not_found(responses.RESPONSE)
    return await choose(ctx, principal.tenant, record, share=share, actor=principal.subject)


async def attach(
    ctx: Context, principal: Principal, response_id: str, invitation_token: str
) -> dict[str, Any]:
    """Attach the response started from an invitation's e-mail link to the caller's account.
    Proof: a token of that invitation's link (the e-mail). A wrong token, another tenant's or
    another person's response: 404. Attached to the caller before: the same answer again."""
    person_id = principal.person_id
    if person_id is None:
        raise Forbidden("Een persoon moet zijn aangemeld. / A person must be logged in.")
    tenant = principal.tenant
    record = await responses.load(ctx, tenant, response_id)
    invitation = await (await ctx.reader(tenant)).invitations.by_link(
        hash_token(invitation_token[:MAX_TOKEN_LENGTH])
    )
    if invitation is None or record.invitation_id != invitation.id:
        raise not_found(responses.RESPONSE)
    if record.person_id == person_id:
        return responses.present(record)
    if record.person_id is not None:
        raise not_found(responses.RESPONSE)
    attached = record.attached_to(person_id)

    async def work(repos: Repositories) -> tuple[ResponseRecord, list[Envelope[Any]]]:
        if not await repos.responses.attach(attached):
            current = await repos.responses.get(record.id)
            if current is not None and current.person_id == person_id:
                return current, []  # a concurrent request of the same person won
            raise not_found(responses.RESPONSE)
        await repos.invitations.attach(invitation.id, person_id)
        # The share chosen before is still the resident's choice: now identity can record it.
        current = await repos.responses.get(record.id)
        assert current is not None
        share = current.shared_with_inviter
        events = (
            [] if share is None else [shared_event(current, share, tenant=tenant, actor=person_id)]
        )
        return current, events

    return responses.present(await ctx.commit(tenant, work))


__all__ = ["attach", "choose", "choose_as", "shared_event"]
