"""Printable agenda of a neighbourhood (HTML, large type, print CSS, Dutch).

For residents without internet: a professional or volunteer prints it. Jinja2 with
autoescaping, so entry texts cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from jinja2 import Environment, select_autoescape

from social_map.domain.freshness import FreshnessPolicy, FreshnessState, state
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import Entry
from social_map.domain.occurrences import TZ, expand_occurrences, location_for
from social_map.presentation.neighbourhood_selection import entries_in

WEEKDAYS_NL = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
MONTHS_NL = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]

_TEMPLATE = """<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Agenda {{ hood }}</title>
<style>
  body { font-family: Verdana, Arial, sans-serif; font-size: 18pt; line-height: 1.5;
         color: #000; background: #fff; margin: 1.5em; }
  h1 { font-size: 28pt; margin: 0 0 .3em; }
  h2 { font-size: 22pt; border-bottom: 3px solid #000; margin-top: 1.2em; }
  .item { margin: .6em 0 1em; page-break-inside: avoid; break-inside: avoid; }
  .time { font-weight: bold; }
  .where, .cost { display: block; }
  .warn { font-style: italic; }
  @page { size: A4; margin: 15mm; }
  @media print { body { margin: 0; font-size: 16pt; } a { color: #000; text-decoration: none; } }
</style>
</head>
<body>
<h1>Activiteiten in {{ hood }}</h1>
<p>{{ period }}</p>
{% for day in days %}
<h2>{{ day.title }}</h2>
{% for it in day.rows %}
<div class="item">
  <span class="time">{{ it.start }}{% if it.end %}–{{ it.end }}{% endif %}</span> {{ it.name }}
  {% if it.where %}<span class="where">Waar: {{ it.where }}</span>{% endif %}
  <span class="cost">{{ it.cost }}</span>
  {% if it.phone %}<span class="where">Telefoon: {{ it.phone }}</span>{% endif %}
  {% if it.stale %}<span class="warn">Let op: deze informatie is al lang niet
    gecontroleerd.</span>{% endif %}
</div>
{% endfor %}
{% else %}
<p>Er zijn in deze periode geen activiteiten gevonden.</p>
{% endfor %}
<p>Gemaakt op {{ made }}. Klopt er iets niet? Laat het ons weten.</p>
</body>
</html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_COMPILED = _ENV.from_string(_TEMPLATE)


@dataclass(frozen=True, slots=True)
class _Item:
    start: str
    end: str
    name: str
    where: str
    cost: str
    phone: str
    stale: bool


def _day_title(d: datetime) -> str:
    return f"{WEEKDAYS_NL[d.weekday()].capitalize()} {d.day} {MONTHS_NL[d.month - 1]}"


def agenda_html(
    neighbourhood: Neighbourhood,
    entries: Iterable[Entry],
    *,
    start: datetime,
    end: datetime,
    policy: FreshnessPolicy,
    now: datetime,
) -> str:
    """All occurrences in [start, end) of entries located in the neighbourhood, by day."""
    chosen = [
        e
        for e in entries_in(neighbourhood, entries)
        if state(e, policy, now) is not FreshnessState.HIDDEN
    ]
    occ = [(o, e) for e in chosen for o in expand_occurrences(e, start, end)]
    occ.sort(key=lambda p: (p[0].start, p[1].name.casefold(), p[1].id))
    days: dict[str, list[_Item]] = {}
    for o, e in occ:
        sal = location_for(e, o)
        loc = sal.location if sal else None
        where = ""
        if loc is not None:
            where = loc.name + (f", {loc.address.address_1}" if loc.address else "")
        cost = (
            "Gratis"
            if e.cost.free
            else f"Kosten: € {e.cost.amount or ''} {e.cost.description}".strip()
        )
        phones = [p.number for c in e.contacts for p in c.phones] + [p.number for p in e.phones]
        item = _Item(
            o.start.strftime("%H:%M"),
            o.end.strftime("%H:%M") if o.end.date() == o.start.date() else "",
            e.name,
            where,
            cost,
            phones[0] if phones else "",
            state(e, policy, now) is FreshnessState.STALE,
        )
        days.setdefault(_day_title(o.start), []).append(item)
    local_start, local_end = start.astimezone(TZ), (end - timedelta(seconds=1)).astimezone(TZ)
    return _COMPILED.render(
        hood=neighbourhood.name,
        period=f"{_day_title(local_start)} tot {_day_title(local_end)}",
        days=[{"title": k, "rows": v} for k, v in days.items()],
        made=_day_title(now.astimezone(TZ)) + f" {now.astimezone(TZ).year}",
    )
