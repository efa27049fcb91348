"""Login throttling (pure): slow an attacker down without locking the owner out.

Failed attempts are counted per (account, source) and per source (a client address; an
IPv6 address counts as its /64, which one attacker usually holds whole). Nothing is counted
per account alone: an attempt from a source without failures is never delayed, so the
owner's correct password from their own device always works, however many guesses others
made. Each counter allows some failures without delay, then asks the source to wait,
doubling with every further failure up to a maximum (`DelaySchedule`): the wait runs from
the source's last failure. An attempt made while waiting is refused before the password is
checked and is not counted, so waiting always works. Failures are forgotten after `memory`.

The account's owner is told (`notice_due`) when its failures from all sources together reach
`notice_after` within `memory`, at most once per `notice_every`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

UNKNOWN_SOURCE = "unknown"


def source_of(address: str | None) -> str:
    """The source an attempt is counted under: the IPv4 address, or the IPv6 /64."""
    if not address:
        return UNKNOWN_SOURCE
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return UNKNOWN_SOURCE
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True, slots=True)
class LoginFailure:
    """One failed attempt: on an account (None for a login code) from a source."""

    account: str | None
    source: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DelaySchedule:
    free_failures: int
    first_delay: timedelta
    max_delay: timedelta

    def delay_after(self, failures: int) -> timedelta:
        """How long to wait after the last of `failures` recent failures."""
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 32)
        return min(self.first_delay * (1 << doublings), self.max_delay)

    def wait_until(self, failures: Iterable[datetime]) -> datetime | None:
        recent = sorted(failures)
        delay = self.delay_after(len(recent))
        return recent[-1] + delay if recent and delay else None


@dataclass(frozen=True, slots=True)
class ThrottleDecision:
    allowed: bool
    retry_at: datetime | None = None
    reason: str | None = None  # "account_source" | "source"


ALLOWED = ThrottleDecision(allowed=True)


def _default_pair() -> DelaySchedule:
    return DelaySchedule(5, timedelta(seconds=30), timedelta(minutes=15))


def _default_source() -> DelaySchedule:
    return DelaySchedule(20, timedelta(seconds=30), timedelta(minutes=15))


@dataclass(frozen=True, slots=True)
class LoginThrottlePolicy:
    per_account_source: DelaySchedule = field(default_factory=_default_pair)
    per_source: DelaySchedule = field(default_factory=_default_source)
    memory: timedelta = timedelta(hours=6)
    notice_after: int = 5
    notice_every: timedelta = timedelta(hours=24)

    def decide(
        self,
        *,
        now: datetime,
        account_source_failures: Iterable[datetime] = (),
        source_failures: Iterable[datetime] = (),
    ) -> ThrottleDecision:
        """Refused while either counter asks to wait; `retry_at` is when both allow."""
        since = now - self.memory
        waits = [
            (until, reason)
            for schedule, failures, reason in (
                (self.per_account_source, account_source_failures, "account_source"),
                (self.per_source, source_failures, "source"),
            )
            if (until := schedule.wait_until(t for t in failures if t >= since)) is not None
            and until > now
        ]
        if not waits:
            return ALLOWED
        until, reason = max(waits)
        return ThrottleDecision(allowed=False, retry_at=until, reason=reason)

    def notice_due(
        self, *, now: datetime, account_failures: int, last_notice: datetime | None
    ) -> bool:
        """Tell the owner about failures on their account (all sources, within `memory`)."""
        if account_failures < self.notice_after:
            return False
        return last_notice is None or now - last_notice >= self.notice_every

    def retention(self) -> timedelta:
        """How long the adapter must keep failure timestamps for decisions to stay correct."""
        return self.memory
