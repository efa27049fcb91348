from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from social_map.domain.errors import DomainValidationError
from social_map.domain.model import Schedule
from social_map.domain.occurrences import (
    entry_open_at,
    expand_occurrences,
    schedule_on_weekday_between,
    schedule_open_at,
)
from social_map_testkit import AMS, make_entry


def test_weekly_tuesday_keeps_local_time_across_dst() -> None:
    e = make_entry()
    occ = expand_occurrences(e, datetime(2025, 3, 20, tzinfo=AMS), datetime(2025, 4, 9, tzinfo=AMS))
    assert [o.start.date() for o in occ] == [date(2025, 3, 25), date(2025, 4, 1), date(2025, 4, 8)]
    assert all(o.start.hour == 10 and o.start.weekday() == 1 for o in occ)
    assert [o.start.utcoffset() for o in occ] == [
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=2),
    ]
    assert all(o.end - o.start == timedelta(minutes=90) for o in occ)


def test_validity_window_limits_occurrences() -> None:
    s = Schedule(
        id="s",
        rrule="FREQ=WEEKLY;BYDAY=TU",
        dtstart=date(2025, 1, 7),
        opens_at=time(10),
        valid_to=date(2025, 1, 20),
    )
    e = make_entry(schedules=[s])
    occ = expand_occurrences(e, datetime(2025, 1, 1, tzinfo=AMS), datetime(2025, 3, 1, tzinfo=AMS))
    assert [o.start.day for o in occ] == [7, 14]


def test_monthly_first_thursday_and_one_off() -> None:
    monthly = Schedule(
        id="m", rrule="FREQ=MONTHLY;BYDAY=+1TH", dtstart=date(2025, 1, 1), opens_at=time(14)
    )
    once = Schedule(id="o", dtstart=date(2025, 2, 14), opens_at=time(19), closes_at=time(21))
    e = make_entry(schedules=[monthly, once])
    occ = expand_occurrences(e, datetime(2025, 1, 1, tzinfo=AMS), datetime(2025, 3, 31, tzinfo=AMS))
    assert [(o.schedule_id, o.start.date()) for o in occ] == [
        ("m", date(2025, 1, 2)),
        ("m", date(2025, 2, 6)),
        ("o", date(2025, 2, 14)),
        ("m", date(2025, 3, 6)),
    ]


def test_window_validation() -> None:
    e = make_entry()
    with pytest.raises(DomainValidationError) as exc:
        expand_occurrences(e, datetime(2025, 1, 1), datetime(2025, 2, 1, tzinfo=AMS))
    assert exc.value.fields == ["window_start"]
    with pytest.raises(DomainValidationError) as exc:
        expand_occurrences(e, datetime(2025, 2, 1, tzinfo=AMS), datetime(2025, 1, 1, tzinfo=AMS))
    assert exc.value.fields == ["window_end"]
    with pytest.raises(DomainValidationError):
        expand_occurrences(e, datetime(2025, 1, 1, tzinfo=AMS), datetime(2026, 6, 1, tzinfo=AMS))


def test_open_at_evaluates_in_amsterdam_time() -> None:
    e = make_entry()
    assert entry_open_at(e, datetime(2025, 4, 1, 10, 15, tzinfo=AMS))
    assert entry_open_at(e, datetime(2025, 4, 1, 8, 15, tzinfo=UTC))  # 10:15 CEST
    assert not entry_open_at(e, datetime(2025, 4, 1, 11, 30, tzinfo=AMS))  # closes_at exclusive
    assert not entry_open_at(e, datetime(2025, 4, 2, 10, 15, tzinfo=AMS))  # Wednesday


def test_all_day_schedule_and_weekday_window() -> None:
    s = Schedule(id="s", rrule="FREQ=WEEKLY;BYDAY=FR", dtstart=date(2025, 1, 3))
    assert schedule_open_at(s, datetime(2025, 1, 10, 23, 0, tzinfo=AMS))
    t = Schedule(
        id="t",
        rrule="FREQ=WEEKLY;BYDAY=TU",
        dtstart=date(2025, 1, 7),
        opens_at=time(10),
        closes_at=time(11, 30),
    )
    assert schedule_on_weekday_between(t, 1, time(9), time(10, 30), date(2025, 3, 3))
    assert not schedule_on_weekday_between(t, 1, time(13), time(17), date(2025, 3, 3))
    assert not schedule_on_weekday_between(t, 2, time(9), time(12), date(2025, 3, 3))
