"""Use cases of time credits: transfer, reverse (the only correction), balances and the
group's statistics.

A transfer is booked in one transaction: the payer's account is debited and the payee's
credited, each by a conditional update that refuses to cross the group's limits (then the
whole transfer is refused with 409 and nothing is booked), and the transfer with its two
movements is stored under an id that follows from the caller's Idempotency-Key, so a retry
(also one racing the first attempt) books nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, NotFound
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.marketplace import CreditsTransferred
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, Repository
from marketplace.domain import ledger
from marketplace.domain.errors import DomainValidationError
from marketplace.domain.groups import Group
from marketplace.domain.ledger import GroupStatistics, LimitExceeded, Transfer
from marketplace.service.acting import STAFF_ROLES, acting_for, log_for, log_read
from marketplace.service.context import Context

NOT_FOUND = "Groep niet gevonden. / Group not found."
TRANSFER_NOT_FOUND = "Overboeking niet gevonden. / Transfer not found."


@dataclass(frozen=True)
class TransferRequest:
    to_person_id: str
    amount: int
    to_group_id: str | None = None
    match_id: str | None = None


async def _member_group(r: Repository, group_id: str, person_id: str) -> Group:
    group = await r.get_group(group_id)
    member = await r.membership(group_id, person_id) if group is not None else None
    if group is None or member is None or not member.active:
        raise NotFound(NOT_FOUND)
    return group


def transferred(transfer: Transfer, tenant: str, actor: str) -> Staged:
    return new_event(
        CreditsTransferred(
            transfer_id=transfer.id,
            from_group_id=transfer.from_group_id,
            to_group_id=transfer.to_group_id,
            from_person_id=transfer.from_person_id,
            to_person_id=transfer.to_person_id,
            amount=transfer.amount,
            reverses=transfer.reverses,
        ),
        tenant=tenant,
        subject=transfer.id,
        actor=actor,
    )


async def book(r: Repository, transfer: Transfer, source: Group, target: Group) -> None:
    """Debit, credit (each within its group's limits) and store: all or nothing, inside the
    caller's transaction (an exception aborts it)."""
    debit, credit = ledger.movements(transfer)
    if not await r.change_balance(
        debit.group_id,
        debit.person_id,
        debit.amount,
        floor=source.credits.min_balance,
        ceiling=source.credits.max_balance,
    ):
        raise LimitExceeded("betaler")
    if not await r.change_balance(
        credit.group_id,
        credit.person_id,
        credit.amount,
        floor=target.credits.min_balance,
        ceiling=target.credits.max_balance,
    ):
        raise LimitExceeded("ontvanger")
    await r.add_transfer(transfer, (debit, credit))


def _same_request(existing: Transfer, wanted: Transfer) -> bool:
    keys = ("from_group_id", "to_group_id", "from_person_id", "to_person_id", "amount")
    return all(getattr(existing, k) == getattr(wanted, k) for k in keys)


async def transfer(
    ctx: Context,
    principal: Principal,
    group_id: str,
    request: TransferRequest,
    *,
    idempotency_key: str,
    for_person: str | None = None,
) -> tuple[Transfer, bool]:
    """The booked transfer, and whether this call booked it (False: a replay). Who may pay
    whom is read before the transaction; the transaction holds the idempotency check and the
    booking (the embedded database runs one database's transactions one at a time)."""
    now = ctx.now()
    tenant = principal.tenant
    r = await ctx.reader(tenant)
    acting = await acting_for(r, principal, for_person)
    ledger.check_amount(request.amount, acting.person_id, request.to_person_id)
    source = await _member_group(r, group_id, acting.person_id)
    target = source
    if request.to_group_id is not None and request.to_group_id != group_id:
        found = await r.get_group(request.to_group_id)
        if found is None:
            raise NotFound(NOT_FOUND)
        target = found
    payee = await r.membership(target.id, request.to_person_id)
    if payee is None or not payee.active:
        raise DomainValidationError.single("to_person_id", "not a member of the group")
    ledger.check_groups(source, target)
    wanted = Transfer(
        id=ledger.transfer_id(f"{principal.subject}|{acting.person_id}", idempotency_key),
        from_group_id=source.id,
        to_group_id=target.id,
        from_person_id=acting.person_id,
        to_person_id=request.to_person_id,
        amount=request.amount,
        at=now,
        requested_by=principal.subject,
        match_id=request.match_id,
    )

    async def work(db: Db, session: Session) -> tuple[tuple[Transfer, bool], list[Staged]]:
        w = ctx.repo(db, session)
        existing = await w.get_transfer(wanted.id)
        if existing is not None:
            if not _same_request(existing, wanted):
                raise InvalidInput(
                    "Deze Idempotency-Key hoort bij een andere overboeking. / This "
                    "Idempotency-Key was used for another transfer.",
                    kind="idempotency-key-reused",
                )
            return (existing, False), []
        await book(w, wanted, source, target)
        await log_for(w, acting, action="create", resource=f"transfer/{wanted.id}")
        return (wanted, True), [transferred(wanted, tenant, principal.subject)]

    return await ctx.commit(tenant, work)


async def _moderates(r: Repository, principal: Principal, group: Group) -> bool:
    if group.organisation is not None and principal.roles_in(group.organisation) & set(STAFF_ROLES):
        return True
    person = principal.person_id
    member = await r.membership(group.id, person) if person else None
    return member is not None and member.moderates


async def reverse(
    ctx: Context, principal: Principal, group_id: str, transfer_id: str
) -> tuple[Transfer, bool]:
    """A moderator of the group corrects a transfer by booking its reversal (once)."""
    now = ctx.now()
    tenant = principal.tenant

    async def work(db: Db, session: Session) -> tuple[tuple[Transfer, bool], list[Staged]]:
        r = ctx.repo(db, session)
        group = await r.get_group(group_id)
        if group is None or not await _moderates(r, principal, group):
            raise NotFound(NOT_FOUND)
        original = await r.get_transfer(transfer_id)
        if original is None or group_id not in (original.from_group_id, original.to_group_id):
            raise NotFound(TRANSFER_NOT_FOUND)
        if original.reverses is not None:
            raise DomainValidationError.single("transfer_id", "a reversal is not reversed")
        existing = await r.get_transfer(ledger.reversal_id(original.id))
        if existing is not None:
            return (existing, False), []
        source = await r.get_group(original.to_group_id)
        target = await r.get_group(original.from_group_id)
        assert source is not None and target is not None
        reversal = Transfer(
            id=ledger.reversal_id(original.id),
            from_group_id=original.to_group_id,
            to_group_id=original.from_group_id,
            from_person_id=original.to_person_id,
            to_person_id=original.from_person_id,
            amount=original.amount,
            at=now,
            requested_by=principal.subject,
            match_id=original.match_id,
            reverses=original.id,
        )
        await book(r, reversal, source, target)
        return (reversal, True), [transferred(reversal, tenant, principal.subject)]

    return await ctx.commit(tenant, work)


async def my_balance(
    ctx: Context, principal: Principal, group_id: str, *, for_person: str | None = None
) -> int:
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    await _member_group(r, group_id, acting.person_id)
    await log_read(ctx, acting, f"group/{group_id}/balance")
    return await r.balance(group_id, acting.person_id)


async def my_transfers(
    ctx: Context, principal: Principal, *, for_person: str | None = None
) -> list[Transfer]:
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    await log_read(ctx, acting, "transfers/mine")
    return await r.transfers_of(acting.person_id)


async def group_balances(
    ctx: Context, principal: Principal, group_id: str
) -> tuple[dict[str, int], GroupStatistics]:
    """For the group's moderators (and the owning organisation's staff)."""
    r = await ctx.reader(principal.tenant)
    group = await r.get_group(group_id)
    if group is None or not await _moderates(r, principal, group):
        raise NotFound(NOT_FOUND)
    return await r.balances(group_id), await r.group_statistics(group_id)
