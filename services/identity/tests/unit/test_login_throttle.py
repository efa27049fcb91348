"""Login throttling policy (pure): progressive delays per (account, source) and per source,
never per account alone; failures forgotten after the memory; the owner's notice."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from identity.domain.login_throttle import (
    DelaySchedule,
    LoginThrottlePolicy,
    source_of,
)

POLICY = LoginThrottlePolicy()


def seconds_ago(now: datetime, *seconds: float) -> list[datetime]:
    return [now - timedelta(seconds=s) for s in seconds]


def test_the_first_failures_of_a_pair_cost_nothing(now: datetime) -> None:
    four = seconds_ago(now, 4, 3, 2, 1)
    assert POLICY.decide(now=now, account_source_failures=four).allowed


def test_then_each_failure_doubles_the_wait_up_to_the_maximum() -> None:
    schedule = DelaySchedule(5, timedelta(seconds=30), timedelta(minutes=15))
    waits = [schedule.delay_after(n).total_seconds() for n in range(4, 12)]
    assert waits == [0, 30, 60, 120, 240, 480, 900, 900]
    assert schedule.delay_after(10_000) == timedelta(minutes=15)


def test_a_waiting_source_is_told_when_to_retry_and_may_then_try(now: datetime) -> None:
    five = seconds_ago(now, 50, 40, 30, 20, 10)
    decision = POLICY.decide(now=now, account_source_failures=five)
    assert not decision.allowed and decision.reason == "account_source"
    assert decision.retry_at == now - timedelta(seconds=10) + timedelta(seconds=30)
    assert POLICY.decide(now=decision.retry_at, account_source_failures=five).allowed


def test_the_source_counter_covers_guesses_across_accounts(now: datetime) -> None:
    nineteen = [now - timedelta(seconds=s) for s in range(1, 20)]
    assert POLICY.decide(now=now, source_failures=nineteen).allowed
    twenty = [*nineteen, now - timedelta(milliseconds=1)]
    decision = POLICY.decide(now=now, source_failures=twenty)
    assert not decision.allowed and decision.reason == "source"


def test_a_source_without_failures_is_never_delayed(now: datetime) -> None:
    """Nothing is counted per account alone: others' guesses never refuse the owner."""
    assert POLICY.decide(now=now, account_source_failures=[], source_failures=[]).allowed


def test_the_longer_wait_of_both_counters_applies(now: datetime) -> None:
    pair = seconds_ago(now, 9, 8, 7, 6, 5, 4)  # six: 60 s after the last
    source = [now - timedelta(seconds=1)] * 20  # twenty: 30 s after the last
    decision = POLICY.decide(now=now, account_source_failures=pair, source_failures=source)
    assert decision.retry_at == now - timedelta(seconds=4) + timedelta(seconds=60)


def test_failures_older_than_the_memory_are_forgotten(now: datetime) -> None:
    old = [now - POLICY.memory - timedelta(seconds=s) for s in range(1, 30)]
    assert POLICY.decide(now=now, account_source_failures=old, source_failures=old).allowed
    assert POLICY.retention() == POLICY.memory


def test_unsorted_input(now: datetime) -> None:
    failures = seconds_ago(now, 2, 10, 4, 8, 6)
    decision = POLICY.decide(now=now, account_source_failures=failures)
    assert decision.retry_at == now - timedelta(seconds=2) + timedelta(seconds=30)


def test_the_owner_is_told_at_the_threshold_at_most_once_per_interval(now: datetime) -> None:
    assert not POLICY.notice_due(now=now, account_failures=4, last_notice=None)
    assert POLICY.notice_due(now=now, account_failures=5, last_notice=None)
    recently = now - timedelta(hours=1)
    assert not POLICY.notice_due(now=now, account_failures=9, last_notice=recently)
    yesterday = now - timedelta(hours=24)
    assert POLICY.notice_due(now=now, account_failures=5, last_notice=yesterday)


@pytest.mark.parametrize(
    ("address", "source"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same /64: one source
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (None, "unknown"),
        ("not-an-address", "unknown"),
    ],
)
def test_sources(address: str | None, source: str) -> None:
    assert source_of(address) == source
