"""Login throttling (pure): decide from recent failure timestamps, per account and per IP.

The adapter stores failure timestamps (e.g. capped lists with a TTL index); this module only
decides. A lock lasts ``lock_for`` from the failure that reached the limit, so waiting works
and a locked attacker cannot extend the lock indefinitely by retrying while locked (attempts
during a lock are refused before the password is checked and are not recorded as failures).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ThrottleDecision:
    allowed: bool
    locked_until: datetime | None = None
    reason: str | None = None  # "account" | "ip"


ALLOWED = ThrottleDecision(allowed=True)


@dataclass(frozen=True, slots=True)
class LoginThrottlePolicy:
    account_limit: int = 5
    ip_limit: int = 20
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)

    def decide(
        self,
        *,
        now: datetime,
        account_failures: Iterable[datetime] = (),
        ip_failures: Iterable[datetime] = (),
    ) -> ThrottleDecision:
        """Account locks are checked first: they say more to the user than an IP limit."""
        for failures, limit, reason in (
            (account_failures, self.account_limit, "account"),
            (ip_failures, self.ip_limit, "ip"),
        ):
            until = self._locked_until(sorted(failures), limit, now)
            if until is not None:
                return ThrottleDecision(allowed=False, locked_until=until, reason=reason)
        return ALLOWED

    def _locked_until(self, failures: list[datetime], limit: int, now: datetime) -> datetime | None:
        # Find the latest failure that completed ``limit`` failures inside one window.
        latest_lock: datetime | None = None
        for index in range(limit - 1, len(failures)):
            if failures[index] - failures[index - limit + 1] <= self.window:
                latest_lock = failures[index] + self.lock_for
        if latest_lock is not None and latest_lock > now:
            return latest_lock
        return None

    def retention(self) -> timedelta:
        """How long the adapter must keep failure timestamps for decisions to stay correct."""
        return self.window + self.lock_for
