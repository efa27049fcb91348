"""Consent per organisation and purpose, with history (the ledger is one document).

Every change is published with the consent's own `version` (its position in the ledger for
that person, organisation and purpose), so each service's projection keeps the newest state
whatever order the events arrive in. Questionnaires' `invitation_answers_shared` is recorded
here too: the resident allowed the inviting organisation to see the answers, which is a
`share_results` consent like any other (history, version, `consent_granted`; revocable).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import ConsentGranted, ConsentRevoked
from wijkkracht_common.events.questionnaires import InvitationAnswersShared
from wijkkracht_common.messaging import Delivery, PermanentError, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.adapters.repositories import Repositories
from identity.domain.consent import ConsentAction, ConsentEntry, ConsentLedger, ConsentPurpose
from identity.service.caseload import require_caseload_role
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.people import calling_person


def _event(
    tenant: str, actor: str, person_id: str, entry: ConsentEntry, ledger: ConsentLedger
) -> Staged:
    """The event of `entry`, the ledger's newest line for its (organisation, purpose)."""
    cls = ConsentGranted if entry.action is ConsentAction.GRANTED else ConsentRevoked
    return new_event(
        cls(
            person_id=person_id,
            organisation_slug=entry.organisation,
            purpose=entry.purpose.value,
            version=ledger.version_of(entry.organisation, entry.purpose),
        ),
        tenant=tenant,
        subject=person_id,
        actor=actor,
        organisation=entry.organisation,
    )


async def ledger_of(ctx: Identity, principal: Principal) -> ConsentLedger:
    person = await calling_person(ctx, principal)
    return await (await ctx.tenant(principal.tenant)).consents.get(person.id)


async def change_consent(
    ctx: Identity,
    principal: Principal,
    organisation: str,
    purpose: ConsentPurpose,
    *,
    grant: bool,
) -> tuple[ConsentLedger, bool]:
    """Grant or revoke; returns the ledger and whether anything changed (no event if not)."""
    person = await calling_person(ctx, principal)
    if await (await ctx.tenant(principal.tenant)).organisations.get(organisation) is None:
        raise NotFound(NOT_FOUND)
    return await apply_change(
        ctx, principal.tenant, principal.subject, person.id, organisation, purpose, grant=grant
    )


async def change_for_resident(
    ctx: Identity,
    principal: Principal,
    person_id: str,
    organisation: str,
    purpose: ConsentPurpose,
    *,
    grant: bool,
) -> tuple[ConsentLedger, bool]:
    """A staff member records a resident's consent for their own organisation, at the
    resident's request (a resident who is not online): professional, org admin or broker of
    `organisation`, and the resident a member of it; anything else 404. The ledger line names
    the staff member (`by`) and the change is access-logged in the same transaction."""
    require_caseload_role(principal, organisation)
    repos = await ctx.tenant(principal.tenant)
    person = await repos.people.get(person_id)
    if (
        person is None
        or not person.is_active
        or person_id == principal.person_id
        or await repos.memberships.get(person_id, organisation) is None
        or await repos.people.erasure_requested_at(person_id) is not None
    ):
        raise NotFound(NOT_FOUND)

    async def log(within: Repositories) -> None:
        await within.access_log.record(
            principal,
            resident=person_id,
            action="update",
            resource=f"consent/{organisation}",
            reason="assisted_consent",
            on_behalf_of=organisation,
        )

    return await apply_change(
        ctx,
        principal.tenant,
        principal.subject,
        person_id,
        organisation,
        purpose,
        grant=grant,
        on_change=log,
    )


async def apply_change(
    ctx: Identity,
    tenant: str,
    actor: str,
    person_id: str,
    organisation: str,
    purpose: ConsentPurpose,
    *,
    grant: bool,
    on_change: Callable[[Repositories], Awaitable[None]] | None = None,
) -> tuple[ConsentLedger, bool]:
    """Grant or revoke for `person_id` as `actor` (the ledger's `by`, the event's actor) in
    one transaction with its event and `on_change`'s writes; callers checked who may."""
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[tuple[ConsentLedger, bool], list[Staged]]:
        within = ctx.within(db, session)
        ledger = await within.consents.get(person_id)
        change_fn = ledger.grant if grant else ledger.revoke
        ledger, entry = change_fn(organisation, purpose, by=actor, at=now)
        if entry is None:
            return (ledger, False), []
        await within.consents.save(ledger)
        if on_change is not None:
            await on_change(within)
        return (ledger, True), [_event(tenant, actor, person_id, entry, ledger)]

    return await ctx.runtime.commit(tenant, work)


async def revoke_all(
    within: Repositories, principal: Principal, person_id: str, now: datetime
) -> list[Staged]:
    """Inside the caller's transaction: revoke every current grant; the events to stage."""
    ledger = await within.consents.get(person_id)
    ledger, changes = ledger.revoke_all(by=principal.subject, at=now)
    if changes:
        await within.consents.save(ledger)
    # Each change is the newest line of its (organisation, purpose): the final ledger's version.
    return [_event(principal.tenant, principal.subject, person_id, e, ledger) for e in changes]


async def index_current_grants(ctx: Identity) -> int:
    """Start-up upgrade: consent ledgers stored before the caseload existed get their query
    keys (`granted_keys`), so they appear in caseloads. Idempotent; cheap once done."""
    upgraded = 0
    registry = (await ctx.platform()).tenants
    cursor: str | None = None
    while True:  # the registry, not the database catalog (listing that is slow on one engine)
        tenants, cursor = await registry.page(limit=100, cursor=cursor)
        for tenant in tenants:
            repos = await ctx.tenant(tenant.slug)
            upgraded += await repos.consents.add_missing_granted_keys()
        if cursor is None:
            return upgraded


# ---- answers of an invited response shared with the inviting organisation ------------------


async def on_answers_shared(
    ctx: Identity, envelope: Envelope[InvitationAnswersShared], delivery: Delivery
) -> bool:
    """Consumer of questionnaires' `invitation_answers_shared`. Without a person (a response
    not attached to an account yet) there is nothing to record: questionnaires publishes it
    again once the response is attached. An event about an erased person is dropped."""
    person_id = envelope.data.person_id
    if person_id is None:
        return False

    async def effect(db: Db, session: Session) -> list[Staged]:
        return await record_shared_answers(ctx.within(db, session), envelope, person_id)

    return await apply_once(ctx.runtime, envelope, delivery, effect, person=person_id)


async def record_shared_answers(
    within: Repositories, envelope: Envelope[InvitationAnswersShared], person_id: str
) -> list[Staged]:
    """`share_results` for the inviting organisation, as if the resident granted it now
    (the resident did, at the end of the response). Nothing changes when it is granted
    already, when the resident changed that consent after choosing (a late event must not
    undo a newer decision), or when the resident asked for erasure."""
    data = envelope.data
    person = await within.people.get(person_id)
    if person is None:
        raise PermanentError(f"unknown person {person_id}")
    if await within.organisations.get(data.organisation_slug) is None:
        raise PermanentError(f"unknown organisation {data.organisation_slug}")
    if not person.is_active or await within.people.erasure_requested_at(person_id) is not None:
        return []
    ledger = await within.consents.get(person_id)
    purpose = ConsentPurpose.SHARE_RESULTS
    changed_at = ledger.last_changed_at(data.organisation_slug, purpose)
    if changed_at is not None and changed_at > envelope.time:
        return []
    ledger, entry = ledger.grant(data.organisation_slug, purpose, by=person_id, at=envelope.time)
    if entry is None:
        return []
    await within.consents.save(ledger)
    return [_event(envelope.tenant, person_id, person_id, entry, ledger)]
