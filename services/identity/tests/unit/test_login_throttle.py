from __future__ import annotations

from datetime import datetime, timedelta

from identity.domain.login_throttle import LoginThrottlePolicy

POLICY = LoginThrottlePolicy()


def minutes_ago(now: datetime, *minutes: float) -> list[datetime]:
    return [now - timedelta(minutes=m) for m in minutes]


def test_four_account_failures_still_allowed(now: datetime) -> None:
    assert POLICY.decide(now=now, account_failures=minutes_ago(now, 1, 2, 3, 4)).allowed


def test_fifth_failure_in_window_locks_for_fifteen_minutes(now: datetime) -> None:
    failures = minutes_ago(now, 10, 8, 6, 4, 2)
    decision = POLICY.decide(now=now, account_failures=failures)
    assert not decision.allowed and decision.reason == "account"
    assert decision.locked_until == now - timedelta(minutes=2) + timedelta(minutes=15)
    # Once the lock has passed, logging in is possible again.
    assert POLICY.decide(now=decision.locked_until, account_failures=failures).allowed


def test_failures_spread_beyond_window_do_not_lock(now: datetime) -> None:
    failures = minutes_ago(now, 60, 45, 30, 15.5, 0.5)
    assert POLICY.decide(now=now, account_failures=failures).allowed


def test_ip_limit_twenty(now: datetime) -> None:
    nineteen = [now - timedelta(seconds=10 * i) for i in range(1, 20)]
    assert POLICY.decide(now=now, ip_failures=nineteen).allowed
    twenty = [*nineteen, now - timedelta(seconds=1)]
    decision = POLICY.decide(now=now, ip_failures=twenty)
    assert not decision.allowed and decision.reason == "ip"


def test_unsorted_input_and_retention(now: datetime) -> None:
    failures = minutes_ago(now, 2, 10, 4, 8, 6)
    assert not POLICY.decide(now=now, account_failures=failures).allowed
    assert POLICY.retention() == timedelta(minutes=30)
