from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.model import SocialMapData
from social_map.presentation.ical_feed import activities_feed
from social_map.presentation.print_agenda import agenda_html
from social_map_testkit import AMS, NOW, make_entry

OOST, WEST = DEMO_NEIGHBOURHOODS[0], DEMO_NEIGHBOURHOODS[1]


def test_ical_feed_has_recurring_events_with_stable_uids(policy: FreshnessPolicy) -> None:
    walk = make_entry("walk", name="Wandelgroep De Stappers")
    elsewhere = make_entry("west", postal_code="9907 AA")
    hidden = make_entry("old", assured_at=NOW - timedelta(days=400))
    feed = activities_feed(OOST, [walk, elsewhere, hidden], policy=policy, now=NOW)
    events = Calendar.from_ical(feed).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Wandelgroep De Stappers"]
    ev = events[0]
    assert ev["rrule"].to_ical() == b"FREQ=WEEKLY;BYDAY=TU"
    assert ev.decoded("dtstart") == datetime(2025, 1, 7, 10, 0, tzinfo=AMS)
    assert "Lindelaan 1" in str(ev["location"]) and "Gratis" in str(ev["description"])
    later = activities_feed(OOST, [walk], policy=policy, now=NOW + timedelta(days=1))
    assert (
        str(Calendar.from_ical(later).walk("VEVENT")[0]["uid"])
        == str(ev["uid"])
        == "walk-walk-sch@wijkkracht.nl"
    )


def test_printable_agenda_is_dutch_escaped_and_ordered(policy: FreshnessPolicy) -> None:
    walk = make_entry("walk", name="Wandelgroep <script>alert(1)</script>")
    stale = make_entry("stale", name="Oude koffieochtend", assured_at=NOW - timedelta(days=200))
    html = agenda_html(
        OOST,
        [walk, stale],
        start=datetime(2025, 3, 3, tzinfo=AMS),
        end=datetime(2025, 3, 10, tzinfo=AMS),
        policy=policy,
        now=NOW,
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<html lang="nl">' in html and "@media print" in html
    assert "Dinsdag 4 maart" in html and "10:00–11:30" in html
    assert "al lang niet" in html  # stale warning
    assert (
        agenda_html(
            WEST,
            [walk],
            start=datetime(2025, 3, 3, tzinfo=AMS),
            end=datetime(2025, 3, 10, tzinfo=AMS),
            policy=policy,
            now=NOW,
        ).count('class="item"')
        == 0
    )


def test_demo_feed_for_each_neighbourhood(demo: SocialMapData, policy: FreshnessPolicy) -> None:
    for hood in DEMO_NEIGHBOURHOODS:
        events = Calendar.from_ical(
            activities_feed(hood, demo.entries, policy=policy, now=NOW)
        ).walk("VEVENT")
        assert events
        assert len({str(e["uid"]) for e in events}) == len(events)
