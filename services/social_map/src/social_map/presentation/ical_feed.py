"""iCalendar (RFC 5545) feed of a neighbourhood's activities.

One VEVENT per schedule with its RRULE (calendar apps expand it themselves), so the feed
stays small and subscribers see changes. UID = "<entry id>-<schedule id>@<domain>": stable
per entry and schedule, so an updated feed replaces events instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from icalendar import Calendar, Event, vRecur

from social_map.domain.freshness import FreshnessPolicy, FreshnessState, state
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Entry, EntryKind, Location, Schedule
from social_map.domain.occurrences import TZ
from social_map.presentation.neighbourhood_selection import entries_in

PRODID = "-//Wijkkracht//Sociale kaart//NL"


def _location_text(loc: Location | None) -> str:
    if loc is None:
        return ""
    parts = [loc.name]
    if loc.address is not None:
        parts += [loc.address.address_1, f"{loc.address.postal_code} {loc.address.city}"]
    return ", ".join(p for p in parts if p)


def _location_of(entry: Entry, schedule: Schedule) -> Location | None:
    for sal in entry.service_at_locations:
        if schedule.service_at_location_id in (None, sal.id):
            return sal.location
    return None


def _event(entry: Entry, schedule: Schedule, domain: str, stamp: datetime) -> Event:
    ev = Event()
    ev.add("uid", f"{entry.id}-{schedule.id}@{domain}")
    ev.add("dtstamp", stamp)
    ev.add("summary", entry.name)
    start = datetime.combine(schedule.dtstart, schedule.opens_at or time(0, 0), tzinfo=TZ)
    if schedule.opens_at and schedule.closes_at:
        end = datetime.combine(schedule.dtstart, schedule.closes_at, tzinfo=TZ)
    else:
        end = start + timedelta(hours=1)
    ev.add("dtstart", start)
    ev.add("dtend", end)
    if schedule.rrule:
        ev.add("rrule", vRecur.from_ical(schedule.rrule))
    cost = (
        "Gratis"
        if entry.cost.free
        else f"Kosten: € {entry.cost.amount or ''} {entry.cost.description}"
    )
    description = "\n".join(x for x in [entry.description, schedule.description, cost.strip()] if x)
    ev.add("description", description)
    loc = _location_of(entry, schedule)
    if text := _location_text(loc):
        ev.add("location", text)
    if loc is not None and loc.latitude is not None and loc.longitude is not None:
        ev.add("geo", (loc.latitude, loc.longitude))
    if entry.url:
        ev.add("url", entry.url)
    return ev


def activities_feed(
    neighbourhood: Neighbourhood,
    entries: Iterable[Entry],
    *,
    policy: FreshnessPolicy,
    now: datetime,
    domain: str = "wijkkracht.nl",
) -> str:
    """The VCALENDAR text for the activities (with schedules) located in `neighbourhood`.

    Hidden entries are left out; `now` is the DTSTAMP (no clock reads here).
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Activiteiten in {neighbourhood.name}")
    cal.add("x-wr-timezone", "Europe/Amsterdam")
    chosen = sorted(
        (
            e
            for e in entries_in(neighbourhood, entries)
            if e.kind is EntryKind.ACTIVITY and state(e, policy, now) is not FreshnessState.HIDDEN
        ),
        key=lambda e: (e.name.casefold(), e.id),
    )
    for entry in chosen:
        for schedule in entry.schedules:
            cal.add_component(_event(entry, schedule, domain, now))
    raw: bytes = cal.to_ical()
    return raw.decode("utf-8")
