"""Time credits: a double-entry ledger per group.

Every transfer is booked as two movements that sum to zero: a debit of the payer's account
and a credit of the payee's, in one group or across two groups of the tenant that both allow
it. The ledger is append-only: a wrong transfer is corrected by its reversal (a new transfer
the other way, naming the one it reverses), never by editing. Balances stay within each
group's limits; a transfer that would cross one is refused as a whole (409), checked where
the balance changes (`adapters`: a conditional update in the booking transaction).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from marketplace.domain.errors import DomainValidationError, FieldError, StateConflict
from marketplace.domain.groups import CreditPolicy, Group

MAX_AMOUNT = 1_000


class Transfer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    from_group_id: str
    to_group_id: str
    from_person_id: str
    to_person_id: str
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    at: datetime
    #: Who asked for it (the payer, a broker for the payer, or a group moderator).
    requested_by: str
    match_id: str | None = None
    #: The transfer this one reverses (a correction).
    reverses: str | None = None


class Movement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    transfer_id: str
    group_id: str
    person_id: str
    amount: int  # negative: debit
    at: datetime


def movements(transfer: Transfer) -> tuple[Movement, Movement]:
    """The two halves of a transfer; their amounts sum to zero."""
    debit = Movement(
        id=f"{transfer.id}:debit",
        transfer_id=transfer.id,
        group_id=transfer.from_group_id,
        person_id=transfer.from_person_id,
        amount=-transfer.amount,
        at=transfer.at,
    )
    credit = Movement(
        id=f"{transfer.id}:credit",
        transfer_id=transfer.id,
        group_id=transfer.to_group_id,
        person_id=transfer.to_person_id,
        amount=transfer.amount,
        at=transfer.at,
    )
    return debit, credit


def transfer_id(scope: str, idempotency_key: str) -> str:
    """The id of the transfer asked for with `idempotency_key` by `scope` (the caller): the
    same key books at most one transfer, also when a retry races the first attempt."""
    digest = hashlib.sha256(f"{scope}\x00{idempotency_key}".encode()).hexdigest()
    return f"tr-{digest[:32]}"


def reversal_id(original_id: str) -> str:
    """A transfer has at most one reversal: its id follows from the original's."""
    return f"rev-{original_id}"


def check_amount(amount: int, from_person: str, to_person: str) -> None:
    errors: list[FieldError] = []
    if amount <= 0:
        errors.append(FieldError("amount", "the amount must be positive"))
    elif amount > MAX_AMOUNT:
        errors.append(FieldError("amount", f"at most {MAX_AMOUNT} per transfer"))
    if from_person == to_person:
        errors.append(FieldError("to_person_id", "a transfer to oneself is not a transfer"))
    if errors:
        raise DomainValidationError(errors)


def check_groups(source: Group, target: Group) -> None:
    """Both groups keep credits; two different groups must both allow transfers across."""
    if not source.credits.enabled or not target.credits.enabled:
        raise StateConflict(
            "credits-disabled",
            "Deze groep houdt geen tijdcredits bij.",
            "This group does not keep time credits.",
        )
    if source.id != target.id and not (source.credits.cross_group and target.credits.cross_group):
        raise StateConflict(
            "cross-group-not-allowed",
            "Overboeken tussen deze groepen is niet toegestaan.",
            "Transfers between these groups are not allowed.",
        )


class LimitExceeded(StateConflict):
    def __init__(self, person_side: str) -> None:
        super().__init__(
            "balance-limit",
            f"Deze overboeking gaat over de limiet van de {person_side}.",
            f"This transfer would cross the {'payer' if person_side == 'betaler' else 'payee'}'s"
            " balance limit.",
        )


def debit_allowed(balance: int, amount: int, policy: CreditPolicy) -> bool:
    return balance - amount >= policy.min_balance


def credit_allowed(balance: int, amount: int, policy: CreditPolicy) -> bool:
    return balance + amount <= policy.max_balance


class GroupStatistics(BaseModel):
    """Reconciles exactly with the ledger: `balance_total` (the accounts) equals
    `movement_total` (the movements), which equals `inflow - outflow` across groups (within
    the group every transfer sums to zero)."""

    group_id: str
    accounts: int
    balance_total: int
    movement_total: int
    movements: int
    transfers_within: int
    inflow: int
    outflow: int
    positive_total: int
    negative_total: int


def statistics(
    group_id: str, balances: Mapping[str, int], moves: Iterable[Movement]
) -> GroupStatistics:
    """The group's figures from its accounts and its movements (a transfer within the group
    has both halves here, one across groups only one)."""
    moves = list(moves)
    by_transfer: dict[str, list[Movement]] = {}
    for m in moves:
        by_transfer.setdefault(m.transfer_id, []).append(m)
    single = [ms[0].amount for ms in by_transfer.values() if len(ms) == 1]
    return GroupStatistics(
        group_id=group_id,
        accounts=len(balances),
        balance_total=sum(balances.values()),
        movement_total=sum(m.amount for m in moves),
        movements=len(moves),
        transfers_within=sum(1 for ms in by_transfer.values() if len(ms) == 2),
        inflow=sum(a for a in single if a > 0),
        outflow=-sum(a for a in single if a < 0),
        positive_total=sum(b for b in balances.values() if b > 0),
        negative_total=sum(b for b in balances.values() if b < 0),
    )
