"""Dated occurrences of schedules and "open at" evaluation, in Europe/Amsterdam wall-clock time.

Schedules are local wall-clock rules ("Tuesdays 10:00" stays 10:00 across DST), so rules are
expanded on naive local datetimes and only then given the zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from social_map.domain.errors import DomainValidationError
from social_map.domain.model import Entry, Schedule, ServiceAtLocation
from social_map.domain.schedule_rules import build_rrule

TZ = ZoneInfo("Europe/Amsterdam")
DEFAULT_DURATION = timedelta(hours=1)
MAX_OCCURRENCES = 2000  # per call: protects against a year of daily rules times many entries
MAX_WINDOW = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Occurrence:
    entry_id: str
    schedule_id: str
    start: datetime  # aware, Europe/Amsterdam
    end: datetime
    service_at_location_id: str | None


def _require_aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise DomainValidationError.single(name, "must carry a timezone")
    return value.astimezone(TZ)


def _active_on(schedule: Schedule, day: date) -> bool:
    if schedule.valid_from and day < schedule.valid_from:
        return False
    return not (schedule.valid_to and day > schedule.valid_to)


def _local_starts(schedule: Schedule, lo: datetime, hi: datetime) -> list[datetime]:
    """Naive local start datetimes in [lo, hi] (both naive local)."""
    start_time = schedule.opens_at or time(0, 0)
    anchor = datetime.combine(schedule.dtstart, start_time)
    if schedule.rrule is None:
        starts = [anchor] if lo <= anchor <= hi else []
    else:
        starts = build_rrule(schedule.rrule, anchor).between(lo, hi, inc=True)
    return [s for s in starts if _active_on(schedule, s.date())]


def first_start(schedule: Schedule) -> datetime | None:
    """The schedule's first occurrence (naive local start), None if it has none: the first
    start of its rule on or after `dtstart` and `valid_from`, before the end of `valid_to`.

    `dtstart` anchors the rule but need not be an occurrence itself ("Tuesdays" from a
    Monday); a calendar (RFC 5545) counts DTSTART as the first occurrence, so a feed must
    start there."""
    start_time = schedule.opens_at or time(0, 0)
    anchor = datetime.combine(schedule.dtstart, start_time)
    lower = anchor
    if schedule.valid_from is not None:
        lower = max(lower, datetime.combine(schedule.valid_from, time(0, 0)))
    if schedule.rrule is None:
        first: datetime | None = anchor if anchor >= lower else None
    else:
        first = build_rrule(schedule.rrule, anchor).after(lower, inc=True)
    return first if first is not None and _active_on(schedule, first.date()) else None


def _duration(schedule: Schedule) -> timedelta:
    if schedule.opens_at and schedule.closes_at:
        return datetime.combine(date.min, schedule.closes_at) - datetime.combine(
            date.min, schedule.opens_at
        )
    return DEFAULT_DURATION if schedule.opens_at else timedelta(days=1)


def expand_occurrences(
    entry: Entry, window_start: datetime, window_end: datetime
) -> list[Occurrence]:
    """All occurrences of the entry's schedules that start within [window_start, window_end).

    Sorted by start, then schedule id. Window at most 400 days; at most 2000 results.
    """
    lo = _require_aware("window_start", window_start)
    hi = _require_aware("window_end", window_end)
    if hi <= lo:
        raise DomainValidationError.single("window_end", "must be after window_start")
    if hi - lo > MAX_WINDOW:
        raise DomainValidationError.single("window_end", "window longer than 400 days")
    lo_n, hi_n = lo.replace(tzinfo=None), hi.replace(tzinfo=None)
    out: list[Occurrence] = []
    for sch in entry.schedules:
        dur = _duration(sch)
        for s in _local_starts(sch, lo_n, hi_n):
            if s >= hi_n:
                continue
            start = s.replace(tzinfo=TZ)
            out.append(
                Occurrence(
                    entry.id,
                    sch.id,
                    start,
                    (s + dur).replace(tzinfo=TZ),
                    sch.service_at_location_id,
                )
            )
            if len(out) >= MAX_OCCURRENCES:
                break
    out.sort(key=lambda o: (o.start, o.schedule_id))
    return out[:MAX_OCCURRENCES]


def schedule_open_at(schedule: Schedule, moment: datetime) -> bool:
    """Does the schedule cover this moment? Without opens_at the whole day counts."""
    local = _require_aware("at", moment).replace(tzinfo=None)
    day_start = datetime.combine(local.date(), time(0, 0))
    starts = _local_starts(
        schedule, day_start, day_start + timedelta(days=1) - timedelta(microseconds=1)
    )
    if not starts:
        return False
    if schedule.opens_at is None:
        return True
    close = (
        schedule.closes_at
        or (datetime.combine(date.min, schedule.opens_at) + DEFAULT_DURATION).time()
    )
    return schedule.opens_at <= local.time() < close


def entry_open_at(entry: Entry, moment: datetime) -> bool:
    return any(schedule_open_at(s, moment) for s in entry.schedules)


def schedule_on_weekday_between(
    schedule: Schedule, weekday: int, start: time, end: time, around: date
) -> bool:
    """Does it run on `weekday` (0=Monday) overlapping [start, end) in the 5 weeks from `around`?"""
    for offset in range(35):
        day = around + timedelta(days=offset)
        if day.weekday() != weekday:
            continue
        day_start = datetime.combine(day, time(0, 0))
        if _local_starts(
            schedule, day_start, day_start + timedelta(hours=23, minutes=59, seconds=59)
        ):
            opens = schedule.opens_at or time(0, 0)
            closes = schedule.closes_at or time(23, 59, 59)
            if opens < end and start < closes:
                return True
    return False


def location_for(entry: Entry, occurrence: Occurrence) -> ServiceAtLocation | None:
    for sal in entry.service_at_locations:
        if occurrence.service_at_location_id in (None, sal.id):
            return sal
    return None
