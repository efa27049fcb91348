"""iCalendar (RFC 5545) feed of a neighbourhood's activities.

One VEVENT per schedule with its RRULE (calendar apps expand it themselves), so the feed
stays small and subscribers see changes. UID = "<entry id>-<schedule id>@<domain>": stable
per entry and schedule, so an updated feed replaces events instead of duplicating them.

Times are Europe/Amsterdam wall-clock (TZID), and the feed carries that zone's VTIMEZONE.
A calendar counts DTSTART as the first occurrence whether or not the rule produces it, so
DTSTART is the schedule's first real occurrence (`first_start`: a "Tuesdays" rule anchored
on a Monday starts on the Tuesday), and the rule's UNTIL is given in UTC (RFC 5545 asks for
that with a zoned DTSTART), bounded by the schedule's `valid_to`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from social_map.domain.freshness import FreshnessPolicy, FreshnessState, state
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Entry, EntryKind, Location, Schedule
from social_map.domain.occurrences import TZ, first_start
from social_map.presentation.neighbourhood_selection import entries_in

PRODID = "-//Wijkkracht//Sociale kaart//NL"
TZID = "Europe/Amsterdam"


def amsterdam_vtimezone() -> Timezone:
    """Europe/Amsterdam as a VTIMEZONE: CET/CEST by the EU rule in force since 1996 (summer
    time from the last Sunday of March 02:00 to the last Sunday of October 03:00)."""
    summer = TimezoneDaylight()
    summer.add("tzname", "CEST")
    summer.add("dtstart", datetime(1970, 3, 29, 2, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    summer.add("tzoffsetfrom", timedelta(hours=1))
    summer.add("tzoffsetto", timedelta(hours=2))
    winter = TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("dtstart", datetime(1970, 10, 25, 3, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    winter.add("tzoffsetfrom", timedelta(hours=2))
    winter.add("tzoffsetto", timedelta(hours=1))
    zone = Timezone()
    zone.add("tzid", TZID)
    zone.add_component(summer)
    zone.add_component(winter)
    return zone


def _utc(local: datetime) -> str:
    return local.replace(tzinfo=TZ).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def feed_rrule(schedule: Schedule) -> str | None:
    """The schedule's rule for a calendar: UNTIL in UTC, no later than the end of
    `valid_to` (a rule with COUNT keeps its count)."""
    if schedule.rrule is None:
        return None
    parts = [p.split("=", 1) for p in schedule.rrule.split(";")]
    rule = {k: v for k, v in parts}
    until: datetime | None = None
    if "UNTIL" in rule:
        raw = rule["UNTIL"].rstrip("Z")
        until = datetime.strptime(raw if "T" in raw else raw + "T000000", "%Y%m%dT%H%M%S")
        if rule["UNTIL"].endswith("Z"):  # already UTC: as local wall-clock for the bound below
            until = until.replace(tzinfo=UTC).astimezone(TZ).replace(tzinfo=None)
    if schedule.valid_to is not None and "COUNT" not in rule:
        end_of_validity = datetime.combine(schedule.valid_to, time(23, 59, 59))
        until = end_of_validity if until is None else min(until, end_of_validity)
    if until is not None:
        rule["UNTIL"] = _utc(until)
    return ";".join(f"{k}={v}" for k, v in rule.items())


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


def _event(
    entry: Entry, schedule: Schedule, first: datetime, domain: str, stamp: datetime
) -> Event:
    ev = Event()
    ev.add("uid", f"{entry.id}-{schedule.id}@{domain}")
    ev.add("dtstamp", stamp.astimezone(UTC))
    ev.add("summary", entry.name)
    start = first.replace(tzinfo=TZ)
    if schedule.opens_at and schedule.closes_at:
        end = datetime.combine(first.date(), schedule.closes_at, tzinfo=TZ)
    else:
        end = start + timedelta(hours=1)
    ev.add("dtstart", start)
    ev.add("dtend", end)
    if rule := feed_rrule(schedule):
        ev.add("rrule", vRecur.from_ical(rule))
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

    Hidden entries are left out, and schedules without any occurrence; `now` is the DTSTAMP
    (no clock reads here).
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Activiteiten in {neighbourhood.name}")
    cal.add("x-wr-timezone", TZID)
    cal.add_component(amsterdam_vtimezone())
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
            if (first := first_start(schedule)) is not None:
                cal.add_component(_event(entry, schedule, first, domain, now))
    raw: bytes = cal.to_ical()
    return raw.decode("utf-8")
