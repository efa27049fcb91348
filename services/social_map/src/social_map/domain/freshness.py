"""Freshness of entries: reminders, stale warnings and hiding, without a support team.

Clock: age = now - assured_at. Outdated reports shorten it: every open report from a distinct
reporter moves the effective assured_at back by `report_penalty_days`, and any open report
makes the entry at least `due` (the owner is asked at once). Reports alone never hide an
entry: it can reach `stale` (shown with a warning) but only time hides it, so a few
anonymous reports cannot take a correct offer off the map.
An entry never assured (e.g. imported without assured_date) is `due`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from social_map.domain.errors import DomainValidationError
from social_map.domain.model import Entry, OutdatedReport


class FreshnessState(StrEnum):
    FRESH = "fresh"
    DUE = "due"
    STALE = "stale"
    HIDDEN = "hidden"


_ORDER = [FreshnessState.FRESH, FreshnessState.DUE, FreshnessState.STALE, FreshnessState.HIDDEN]


class FreshnessEvent(StrEnum):
    """Event names the service emits (classes: wijkkracht_common.events.social_map)."""

    VERIFICATION_DUE = "entry_verification_due"
    WENT_STALE = "entry_went_stale"
    HIDDEN = "entry_hidden"


_EVENT_ON_ENTER = {
    FreshnessState.DUE: FreshnessEvent.VERIFICATION_DUE,
    FreshnessState.STALE: FreshnessEvent.WENT_STALE,
    FreshnessState.HIDDEN: FreshnessEvent.HIDDEN,
}


class FreshnessPolicy(BaseModel):
    """Per-tenant thresholds in days since assured_at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    remind_after_days: Annotated[int, Field(ge=1, le=3650)] = 150
    stale_after_days: Annotated[int, Field(ge=1, le=3650)] = 180
    hidden_after_days: Annotated[int, Field(ge=1, le=3650)] = 270
    report_penalty_days: Annotated[int, Field(ge=0, le=3650)] = 60

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.remind_after_days < self.stale_after_days:
            raise ValueError("stale_after_days: must be greater than remind_after_days")
        if not self.stale_after_days < self.hidden_after_days:
            raise ValueError("hidden_after_days: must be greater than stale_after_days")
        return self


def _open_reporters(reports: Iterable[OutdatedReport]) -> int:
    return len({r.reporter for r in reports if r.is_open})


def freshness_state(
    assured_at: datetime | None, open_reporters: int, policy: FreshnessPolicy, now: datetime
) -> FreshnessState:
    """State from raw facts (used for entries and for stored summaries alike)."""
    if assured_at is None:
        return FreshnessState.DUE
    age = now - assured_at
    by_time = _state_for_age(age, policy)
    if open_reporters == 0:
        return by_time
    by_reports = _state_for_age(
        age + timedelta(days=policy.report_penalty_days * open_reporters), policy
    )
    by_reports = min(by_reports, FreshnessState.STALE, key=_ORDER.index)  # reports never hide
    return max(by_time, by_reports, FreshnessState.DUE, key=_ORDER.index)


def _state_for_age(age: timedelta, policy: FreshnessPolicy) -> FreshnessState:
    if age >= timedelta(days=policy.hidden_after_days):
        return FreshnessState.HIDDEN
    if age >= timedelta(days=policy.stale_after_days):
        return FreshnessState.STALE
    if age >= timedelta(days=policy.remind_after_days):
        return FreshnessState.DUE
    return FreshnessState.FRESH


def state(entry: Entry, policy: FreshnessPolicy, now: datetime) -> FreshnessState:
    return freshness_state(entry.assured_at, _open_reporters(entry.outdated_reports), policy, now)


def transitions(previous: FreshnessState, new: FreshnessState) -> list[FreshnessEvent]:
    """Events for moving previous → new: one per threshold crossed upwards, in order.

    A late sweep that jumps fresh → stale still emits the reminder first. Moving down
    (verification) emits nothing here; the use case emits its own `entry_verified`.
    """
    lo, hi = _ORDER.index(previous), _ORDER.index(new)
    return [_EVENT_ON_ENTER[s] for s in _ORDER[lo + 1 : hi + 1]]


def next_check_at(entry: Entry, policy: FreshnessPolicy, now: datetime) -> datetime | None:
    """When the state next changes by time alone (for the sweep); None if hidden/unknown."""
    if entry.assured_at is None:
        return None
    shift = timedelta(days=policy.report_penalty_days * _open_reporters(entry.outdated_reports))
    candidates = [
        entry.assured_at
        + timedelta(days=d)
        - (shift if d < policy.hidden_after_days else timedelta(0))
        for d in (policy.remind_after_days, policy.stale_after_days, policy.hidden_after_days)
    ]
    future = [c for c in candidates if c > now]
    return min(future) if future else None


def verify(entry: Entry, by: str, now: datetime) -> Entry:
    """Owner confirms the entry: resets assured_at/assured_by and closes open reports."""
    if not by:
        raise DomainValidationError.single("assured_by", "required")
    if now.tzinfo is None:
        raise DomainValidationError.single("now", "must carry a timezone")
    reports = [
        r if not r.is_open else r.model_copy(update={"closed_at": now})
        for r in entry.outdated_reports
    ]
    return entry.model_copy(
        update={
            "assured_at": now,
            "assured_by": by,
            "outdated_reports": reports,
            "revision": entry.revision + 1,
        }
    )


def report_outdated(entry: Entry, report_id: str, reporter: str, note: str, now: datetime) -> Entry:
    """Add a "dit klopt niet meer" report; a reporter's newer open report replaces the older."""
    report = OutdatedReport(
        id=report_id, reporter=reporter, note=note.strip()[:280], reported_at=now
    )
    kept = [r for r in entry.outdated_reports if not (r.is_open and r.reporter == reporter)]
    return entry.model_copy(update={"outdated_reports": [*kept, report]})


def without_reporter(entry: Entry, reporter: str, replacement: str) -> Entry:
    """The entry with `reporter`'s reports under `replacement` (an erased person's actor id
    leaves the entry; the reports, their notes and the count of distinct reporters stay)."""
    return entry.model_copy(
        update={
            "outdated_reports": [
                r.model_copy(update={"reporter": replacement}) if r.reporter == reporter else r
                for r in entry.outdated_reports
            ]
        }
    )


def without_assurer(entry: Entry, assurer: str, replacement: str) -> Entry:
    """The entry confirmed by `replacement` instead of `assurer` (an erased staff member's id
    leaves the entry; when it was confirmed stays, so its freshness does not change)."""
    if entry.assured_by != assurer:
        return entry
    return entry.model_copy(update={"assured_by": replacement})


# --- overview per organisation -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntrySummary:
    """What the store projects for the overview (no texts needed)."""

    id: str
    organization_id: str
    name: str
    assured_at: datetime | None
    open_reporters: int = 0

    @classmethod
    def of(cls, entry: Entry) -> EntrySummary:
        return cls(
            entry.id,
            entry.organization_id,
            entry.name,
            entry.assured_at,
            _open_reporters(entry.outdated_reports),
        )


@dataclass(frozen=True, slots=True)
class OrganisationFreshness:
    organization_id: str
    counts: dict[FreshnessState, int]
    oldest: list[EntrySummary] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def overview(
    summaries: Iterable[EntrySummary], policy: FreshnessPolicy, now: datetime, oldest_n: int = 5
) -> list[OrganisationFreshness]:
    """Counts per state and the `oldest_n` least recently assured entries, per organisation.

    Never-assured entries count as oldest. Sorted by organisation id; deterministic.
    """
    groups: dict[str, list[EntrySummary]] = {}
    for s in summaries:
        groups.setdefault(s.organization_id, []).append(s)
    result: list[OrganisationFreshness] = []
    for org_id in sorted(groups):
        items = groups[org_id]
        counts = Counter(
            freshness_state(s.assured_at, s.open_reporters, policy, now) for s in items
        )
        full = {st: counts.get(st, 0) for st in _ORDER}
        oldest = sorted(items, key=lambda s: (s.assured_at is not None, s.assured_at or now, s.id))[
            :oldest_n
        ]
        result.append(OrganisationFreshness(org_id, full, oldest))
    return result
