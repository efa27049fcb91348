"""RRULE string ↔ HSDS 3.0 schedule recurrence columns.

HSDS spells a recurrence as columns (freq, interval, byday, bymonthday, byweekno, byyearday,
count, until, wkst). Parts HSDS has no column for (e.g. BYMONTH, BYSETPOS, an UNTIL with a
time) travel losslessly in `notes` as "RRULE:<value>", which the importer prefers. HSDS allows
only WEEKLY and MONTHLY in `freq`: other rules (DAILY, YEARLY) travel in `notes` alone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

_COLUMNS = {
    "FREQ": "freq",
    "INTERVAL": "interval",
    "BYDAY": "byday",
    "BYMONTHDAY": "bymonthday",
    "BYWEEKNO": "byweekno",
    "BYYEARDAY": "byyearday",
    "COUNT": "count",
    "WKST": "wkst",
}
NOTES_PREFIX = "RRULE:"
#: The values HSDS 3.0 allows in `schedule.freq`.
HSDS_FREQS = frozenset({"WEEKLY", "MONTHLY"})


def rrule_to_columns(rrule: str | None) -> dict[str, Any]:
    cols: dict[str, Any] = {c: None for c in [*_COLUMNS.values(), "until", "notes"]}
    if rrule is None:
        return cols
    parts = dict(p.split("=", 1) for p in rrule.split(";"))
    if parts.get("FREQ") not in HSDS_FREQS:
        cols["notes"] = NOTES_PREFIX + rrule
        return cols
    lossless = True
    for key, value in parts.items():
        if key in _COLUMNS:
            cols[_COLUMNS[key]] = int(value) if key in ("INTERVAL", "COUNT") else value
        elif key == "UNTIL" and len(value) >= 8 and value[8:] in ("", "T000000"):
            cols["until"] = date(int(value[:4]), int(value[4:6]), int(value[6:8])).isoformat()
        else:
            lossless = False
    if not lossless:
        cols["notes"] = NOTES_PREFIX + rrule
    return cols


def columns_to_rrule(row: dict[str, Any]) -> str | None:
    notes = row.get("notes")
    if isinstance(notes, str) and notes.startswith(NOTES_PREFIX):
        return notes[len(NOTES_PREFIX) :]
    if not row.get("freq"):
        return None
    parts = []
    for key, col in _COLUMNS.items():
        value = row.get(col)
        if value not in (None, ""):
            parts.append(f"{key}={str(value).upper()}")
    until = row.get("until")
    if until not in (None, ""):
        parts.append("UNTIL=" + str(until)[:10].replace("-", ""))
    return ";".join(parts)
