"""RRULE validation and canonical form (dateutil.rrule)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from dateutil.rrule import rrule, rrulestr  # type: ignore[import-untyped,unused-ignore]

#: Times of day come from opens_at/closes_at; sub-daily rules would explode the agenda.
ALLOWED_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_ANCHOR = datetime(2000, 1, 3)


#: Validation context key of data read back from the database (`Entry.model_validate(...,
#: context={STORED: True})`): rules stored before a check was added are repaired, not refused.
STORED = "stored"


def until_over_count(value: str) -> str:
    """The rule without COUNT when it also has UNTIL (RFC 5545 allows one of them): the end
    date is what a reader sees."""
    parts = value.split(";")
    names = {p.split("=", 1)[0].strip().upper() for p in parts}
    if "COUNT" not in names or "UNTIL" not in names:
        return value
    return ";".join(p for p in parts if p.split("=", 1)[0].strip().upper() != "COUNT")


@lru_cache(maxsize=4096)  # imports repeat a handful of rules thousands of times
def canonical_rrule(value: str) -> str:
    """Validate an RRULE value and return dateutil's canonical spelling.

    Raises ValueError("rrule: ...") so the message names the field.
    """
    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "\n" in text or "DTSTART" in text.upper():
        raise ValueError("rrule: give only the RRULE value, DTSTART comes from dtstart")
    parts = dict(p.split("=", 1) for p in text.upper().split(";") if "=" in p)
    if parts.get("FREQ") not in ALLOWED_FREQS:
        raise ValueError(f"rrule: FREQ must be one of {sorted(ALLOWED_FREQS)}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("rrule: give COUNT or UNTIL, not both (RFC 5545)")
    try:
        rule = rrulestr(text, dtstart=_ANCHOR)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"rrule: invalid recurrence rule ({exc})") from exc
    if not isinstance(rule, rrule):
        raise ValueError("rrule: expected a single recurrence rule")
    lines = [ln for ln in str(rule).splitlines() if ln.startswith("RRULE:")]
    return lines[0][6:] if lines else text


def build_rrule(value: str, dtstart: datetime) -> rrule:
    rule = rrulestr(value, dtstart=dtstart)
    assert isinstance(rule, rrule)
    return rule
