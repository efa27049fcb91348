"""The iCalendar feed read back by real parsers: `icalendar` (RFC 5545) for the calendar, its
VTIMEZONE and events, `dateutil.rrule` to expand each event's rule from its DTSTART as a
calendar app does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Calendar, Event
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.model import Entry, Schedule, SocialMapData
from social_map.domain.occurrences import expand_occurrences, first_start
from social_map.presentation.ical_feed import activities_feed
from social_map_testkit import NOW, make_entry

AMS = ZoneInfo("Europe/Amsterdam")


def _events(feed: str) -> list[Event]:
    return list(Calendar.from_ical(feed).walk("VEVENT"))


def _starts(ev: Event, until: datetime) -> list[datetime]:
    """The event's occurrences up to `until`, as a calendar expands them (DTSTART counts)."""
    start: datetime = ev.decoded("dtstart")
    if "rrule" not in ev:
        return [start] if start <= until else []
    rule = rrulestr(ev["rrule"].to_ical().decode(), dtstart=start)
    return list(rule.between(start, until, inc=True))


def test_the_feed_carries_the_amsterdam_timezone(policy: FreshnessPolicy) -> None:
    cal = Calendar.from_ical(activities_feed(DEMO_NEIGHBOURHOODS[0], [], policy=policy, now=NOW))
    [zone] = cal.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "Europe/Amsterdam"
    tz = zone.to_tz()
    # the VTIMEZONE gives the offsets zoneinfo gives, summer and winter, around both changes
    for moment in (
        datetime(2025, 1, 15, 12),
        datetime(2025, 3, 30, 1, 59),
        datetime(2025, 3, 30, 3, 1),
        datetime(2025, 7, 1, 12),
        datetime(2025, 10, 26, 1, 30),
        datetime(2025, 10, 26, 3, 1),
        datetime(2031, 3, 30, 12),
    ):
        assert moment.replace(tzinfo=tz).utcoffset() == moment.replace(tzinfo=AMS).utcoffset()


def test_every_dtstart_is_the_first_occurrence_of_its_rule(
    demo: SocialMapData, policy: FreshnessPolicy
) -> None:
    """In the demo map most rules are anchored on Monday 1 January 2024 for another weekday:
    a calendar would show an extra event on that Monday if DTSTART stayed there."""
    anchored_elsewhere = [
        s for e in demo.entries for s in e.schedules if first_start(s) != _anchor(s)
    ]
    assert len(anchored_elsewhere) > 100
    by_id = {e.id: e for e in demo.entries}
    window_end = datetime(2024, 3, 1, tzinfo=AMS)
    checked = 0
    for hood in DEMO_NEIGHBOURHOODS:
        feed = activities_feed(hood, demo.entries, policy=policy, now=NOW)
        assert "BEGIN:VTIMEZONE" in feed
        for ev in _events(feed):
            start = ev.decoded("dtstart")
            assert (
                start.tzinfo is not None and str(ev["dtstart"].params["TZID"]) == "Europe/Amsterdam"
            )
            rule = rrulestr(ev["rrule"].to_ical().decode(), dtstart=start)
            assert rule[0] == start, str(ev["uid"])
            # and the calendar's occurrences are the agenda's
            entry_id, schedule_id = _ids(ev, by_id)
            entry = by_id[entry_id]
            agenda = [
                o.start
                for o in expand_occurrences(entry, datetime(2024, 1, 1, tzinfo=AMS), window_end)
                if o.schedule_id == schedule_id
            ]
            assert _starts(ev, window_end) == agenda
            checked += 1
    assert checked >= 150


def _anchor(s: Schedule) -> datetime:
    return datetime.combine(s.dtstart, s.opens_at or time(0))


def _ids(ev: Event, by_id: dict[str, Entry]) -> tuple[str, str]:
    uid = str(ev["uid"]).removesuffix("@wijkkracht.nl")
    entry_id = next(i for i in by_id if uid.startswith(f"{i}-"))
    return entry_id, uid.removeprefix(f"{entry_id}-")


def test_validity_bounds_the_rule_with_a_utc_until(policy: FreshnessPolicy) -> None:
    season = make_entry(
        "season",
        schedules=[
            Schedule(
                id="s1",
                rrule="FREQ=WEEKLY;BYDAY=TH",
                dtstart=date(2025, 1, 6),  # a Monday
                valid_from=date(2025, 2, 1),
                valid_to=date(2025, 3, 31),
                opens_at=time(19, 30),
                closes_at=time(21),
            ),
            Schedule(
                id="s2",
                rrule="FREQ=MONTHLY;BYDAY=+1SA;UNTIL=20250601T000000",
                dtstart=date(2025, 1, 1),
                opens_at=time(10),
            ),
            Schedule(
                id="gone",
                rrule="FREQ=WEEKLY;BYDAY=MO",
                dtstart=date(2025, 1, 1),
                valid_to=date(2024, 12, 31),
            ),
        ],
    )
    events = {
        str(e["uid"]).split("-")[1].split("@")[0]: e
        for e in _events(activities_feed(DEMO_NEIGHBOURHOODS[0], [season], policy=policy, now=NOW))
    }
    assert set(events) == {"s1", "s2"}  # a schedule without any occurrence is left out
    thursdays = _starts(events["s1"], datetime(2026, 1, 1, tzinfo=UTC))
    assert thursdays[0] == datetime(2025, 2, 6, 19, 30, tzinfo=AMS)
    assert thursdays[-1] == datetime(2025, 3, 27, 19, 30, tzinfo=AMS)  # nothing after valid_to
    assert all(t.weekday() == 3 for t in thursdays) and len(thursdays) == 8
    assert "UNTIL=20250331T215959Z" in events["s1"]["rrule"].to_ical().decode()
    saturdays = _starts(events["s2"], datetime(2026, 1, 1, tzinfo=UTC))
    assert [t.date() for t in saturdays] == [
        date(2025, 1, 4),
        date(2025, 2, 1),
        date(2025, 3, 1),
        date(2025, 4, 5),
        date(2025, 5, 3),
    ]
    assert events["s2"].decoded("dtend") - events["s2"].decoded("dtstart") == timedelta(hours=1)
