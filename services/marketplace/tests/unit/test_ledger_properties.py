"""The time-credit ledger's invariants over thousands of random operations (hypothesis,
stateful), through the use cases on in-memory fakes: every transfer is two movements that
sum to zero; all balances sum to zero; every balance equals its movements and stays within
its group's limits; a transfer past a limit is refused whole; an Idempotency-Key books at
most once; corrections only by a reversal, at most one per transfer; group statistics
reconcile exactly with the ledger."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from marketplace.domain.errors import DomainValidationError, StateConflict
from marketplace.domain.groups import (
    CreditPolicy,
    Group,
    GroupKind,
    GroupOwner,
    MemberRole,
    Membership,
    MemberStatus,
)
from marketplace.domain.ledger import LimitExceeded
from marketplace.service import credits
from marketplace.service.credits import TransferRequest
from mp_fakes import FakeRepository, Store, fake_context
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, NotFound

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TENANT = "t1"
PEOPLE = [f"p{i}" for i in range(5)]
MODERATOR = "mod"
POLICIES = {
    "g1": CreditPolicy(enabled=True, min_balance=-5, max_balance=8, cross_group=True),
    "g2": CreditPolicy(enabled=True, min_balance=-3, max_balance=4, cross_group=True),
    "g3": CreditPolicy(enabled=True, min_balance=-2, max_balance=2, cross_group=False),
    "g4": CreditPolicy(enabled=False),
}
#: who is a member where (p4 is in no group with credits across)
MEMBERS = {
    "g1": ["p0", "p1", "p2", "p3"],
    "g2": ["p0", "p2", "p4"],
    "g3": ["p1", "p3", "p4"],
    "g4": ["p0", "p1"],
}


def person(pid: str) -> Principal:
    return Principal(subject=pid, tenant=TENANT, roles=frozenset({"resident"}))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.ctx, self.runtime = fake_context()
        self.store = Store()
        self.runtime.stores[TENANT] = self.store
        self.repo = FakeRepository(self.store)
        self.model: Counter[tuple[str, str]] = Counter()
        self.booked: dict[tuple[str, str], Any] = {}  # (payer, key) → transfer
        self.reversed: set[str] = set()
        self.operations = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.loop.close()

    @initialize()
    def groups(self) -> None:
        for gid, policy in POLICIES.items():
            self.store.groups[gid] = Group(
                id=gid,
                name=gid,
                kind=GroupKind.CLOSED,
                owner=GroupOwner.INITIATIVE,
                created_by=MODERATOR,
                created_at=NOW,
                credits=policy,
            )
            for pid in [*MEMBERS[gid], MODERATOR]:
                self.store.memberships[(gid, pid)] = Membership(
                    group_id=gid,
                    person_id=pid,
                    role=MemberRole.MODERATOR if pid == MODERATOR else MemberRole.MEMBER,
                    status=MemberStatus.ACTIVE,
                    since=NOW,
                )

    def _refusal(
        self, payer: str, payee: str, source: str, target: str, amount: int
    ) -> type[Exception] | None:
        """What the use case must refuse the transfer with (None: it must book it)."""
        if amount <= 0 or payer == payee:
            return DomainValidationError
        if payer not in MEMBERS[source]:
            return NotFound
        if payee not in MEMBERS[target]:
            return DomainValidationError
        s, t = POLICIES[source], POLICIES[target]
        if (
            not s.enabled
            or not t.enabled
            or (source != target and not (s.cross_group and t.cross_group))
        ):
            return StateConflict
        if self.model[(source, payer)] - amount < s.min_balance:
            return LimitExceeded
        if self.model[(target, payee)] + amount > t.max_balance:
            return LimitExceeded
        return None

    @rule(
        payer=st.sampled_from(PEOPLE),
        payee=st.sampled_from(PEOPLE),
        source=st.sampled_from(sorted(POLICIES)),
        dest=st.sampled_from(sorted(POLICIES)),
        amount=st.integers(-1, 9),
        key=st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6"]),
    )
    def transfer(
        self, payer: str, payee: str, source: str, dest: str, amount: int, key: str
    ) -> None:
        self.operations += 1
        earlier = self.booked.get((payer, key))
        same = earlier is not None and (
            earlier.from_group_id,
            earlier.to_group_id,
            earlier.to_person_id,
            earlier.amount,
        ) == (source, dest, payee, amount)
        request = TransferRequest(to_person_id=payee, amount=amount, to_group_id=dest)
        expected = self._refusal(payer, payee, source, dest, amount)
        try:
            booked, new = self.run(
                credits.transfer(self.ctx, person(payer), source, request, idempotency_key=key)
            )
        except (DomainValidationError, StateConflict, NotFound, InvalidInput) as error:
            assert not same, f"a replay was refused: {error!r}"
            if earlier is not None:  # the key was used for another transfer
                static = expected is not None and expected is not LimitExceeded
                assert isinstance(error, InvalidInput) or (static and isinstance(error, expected))
            else:
                assert expected is not None, f"refused although valid: {error!r}"
                assert isinstance(error, expected), (error, expected)
            return
        if earlier is not None:
            assert same and not new and booked.id == earlier.id  # a replay books nothing
            return
        assert expected is None, f"booked although {expected} was due"
        assert new
        self.booked[(payer, key)] = booked
        self.model[(source, payer)] -= amount
        self.model[(dest, payee)] += amount

    @rule(index=st.integers(0, 50))
    def reverse(self, index: int) -> None:
        self.operations += 1
        done = sorted(self.booked.values(), key=lambda t: t.id)
        if not done:
            return
        original = done[index % len(done)]
        again = original.id in self.reversed
        fits = (
            self.model[(original.to_group_id, original.to_person_id)] - original.amount
            >= POLICIES[original.to_group_id].min_balance
            and self.model[(original.from_group_id, original.from_person_id)] + original.amount
            <= POLICIES[original.from_group_id].max_balance
        )
        try:
            reversal, new = self.run(
                credits.reverse(self.ctx, person(MODERATOR), original.from_group_id, original.id)
            )
        except LimitExceeded:
            assert not fits and not again
            return
        assert reversal.reverses == original.id
        if again:
            assert not new  # at most one reversal per transfer
            return
        assert new and fits
        self.reversed.add(original.id)
        self.model[(original.to_group_id, original.to_person_id)] -= original.amount
        self.model[(original.from_group_id, original.from_person_id)] += original.amount

    @invariant()
    def double_entry(self) -> None:
        moves = list(self.store.movements.values())
        by_transfer: Counter[str] = Counter()
        for m in moves:
            by_transfer[m.transfer_id] += m.amount
        assert all(total == 0 for total in by_transfer.values())
        assert len(moves) == 2 * len(self.store.transfers)
        assert sum(self.store.accounts.values()) == 0

    @invariant()
    def balances_are_their_movements_and_within_limits(self) -> None:
        per_account: Counter[tuple[str, str]] = Counter()
        for m in self.store.movements.values():
            per_account[(m.group_id, m.person_id)] += m.amount
        for (gid, pid), balance in self.store.accounts.items():
            assert balance == per_account[(gid, pid)] == self.model[(gid, pid)]
            policy = POLICIES[gid]
            assert policy.min_balance <= balance <= policy.max_balance

    @invariant()
    def no_double_posting(self) -> None:
        originals = [t for t in self.store.transfers.values() if t.reverses is None]
        assert len(originals) == len(self.booked)
        reversals = [t.reverses for t in self.store.transfers.values() if t.reverses]
        assert len(reversals) == len(set(reversals)) == len(self.reversed)

    @invariant()
    def statistics_reconcile(self) -> None:
        for gid in POLICIES:
            stats = self.run(self.repo.group_statistics(gid))
            assert stats.balance_total == stats.movement_total == stats.inflow - stats.outflow
            assert stats.positive_total + stats.negative_total == stats.balance_total


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=50, deadline=None)
TestLedger = LedgerMachine.TestCase
