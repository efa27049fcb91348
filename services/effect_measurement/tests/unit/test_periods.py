"""Periods on the reporting calendar, computed once per hour: equal to converting each
moment, also around daylight-saving changes and midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from effect_measurement.domain.periods import (
    REPORTING_TIMEZONE,
    month,
    period_labels_of,
    periods_of,
    quarter,
    year,
)
from hypothesis import given
from hypothesis import strategies as st


def direct(moment: datetime) -> tuple[str, str, str]:
    local = moment.astimezone(REPORTING_TIMEZONE)
    return (
        month(local.year, local.month).label,
        quarter(local.year, (local.month - 1) // 3 + 1).label,
        year(local.year).label,
    )


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
    )
)
def test_any_moment_gets_the_periods_of_its_local_date(moment: datetime) -> None:
    assert period_labels_of(moment) == direct(moment)
    assert tuple(p.label for p in periods_of(moment)) == direct(moment)


def test_the_last_and_first_microseconds_around_local_midnights_and_dst_changes() -> None:
    edges = [
        datetime(2026, 12, 31, 23, 0, tzinfo=UTC),  # 00:00 on 1 January, Dutch time
        datetime(2026, 3, 31, 22, 0, tzinfo=UTC),  # 1 April (summer time)
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # summer time starts
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    ]  # winter time starts
    for edge in edges:
        for moment in (edge - timedelta(microseconds=1), edge):
            assert period_labels_of(moment) == direct(moment)
    assert period_labels_of(edges[0])[2] == "2027"
    assert period_labels_of(edges[0] - timedelta(microseconds=1))[2] == "2026"


def test_the_reporting_zone_changes_offset_only_by_whole_hours() -> None:
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    while moment.year < 2040:
        offset = moment.astimezone(REPORTING_TIMEZONE).utcoffset()
        assert offset is not None and offset.total_seconds() % 3600 == 0
        moment += timedelta(days=7)
