"""The data formats of xAPI 2.0 (IEEE 9274.1.1): UUIDs, IRIs, language tags, durations,
timestamps, e-mail IRIs, hashes, versions. Pure checks, no I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: An absolute IRI: a scheme, a colon, no white space (xAPI asks no more of an IRI).
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
IRL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s]+$")
SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
SHA2 = re.compile(r"^[0-9a-fA-F]{56}$|^[0-9a-fA-F]{64}$|^[0-9a-fA-F]{96}$|^[0-9a-fA-F]{128}$")
MBOX = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
VERSION = re.compile(r"^(1\.0|2\.0)(\.\d+)?$")
MIME = re.compile(r"^[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+(\s*;.*)?$")

_ALNUM = "[A-Za-z0-9]"
_LANGUAGE = r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4}|[A-Za-z]{5,8})"
_SCRIPT = r"(?:-[A-Za-z]{4})?"
_REGION = r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
_VARIANT = rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"
_EXTENSION = rf"(?:-[0-9A-WY-Za-wy-z](?:-{_ALNUM}{{2,8}})+)*"
_PRIVATE = rf"(?:-[xX](?:-{_ALNUM}{{1,8}})+)?"
LANGUAGE_TAG = re.compile(
    rf"^(?:{_LANGUAGE}{_SCRIPT}{_REGION}{_VARIANT}{_EXTENSION}{_PRIVATE}"
    rf"|[xX](?:-{_ALNUM}{{1,8}})+"
    r"|i-[A-Za-z]{3,8}|en-GB-oed|sgn-[A-Za-z]{2}-[A-Za-z]{2,3})$"
)
_NUMBER = r"\d+(?:[.,]\d+)?"
DURATION = re.compile(
    rf"^P(?:{_NUMBER}W|(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?)$"
)
TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2})|([+-])(\d{2}))?$"
)


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and UUID.match(value) is not None


#: Verified IRIs and language tags: statements repeat the same verbs, activity ids, types
#: and tags, so most checks are a set look-up (bounded: emptied when full).
_KNOWN_IRIS: set[str] = set()
_KNOWN_TAGS: set[str] = set()
_KNOWN_LIMIT = 20_000


def _matches(value: Any, pattern: re.Pattern[str], known: set[str]) -> bool:
    if value.__class__ is str and value in known:
        return True
    if isinstance(value, str) and pattern.match(value) is not None:
        if len(known) >= _KNOWN_LIMIT:
            known.clear()
        known.add(value)
        return True
    return False


def is_iri(value: Any) -> bool:
    return _matches(value, IRI, _KNOWN_IRIS)


def is_irl(value: Any) -> bool:
    return isinstance(value, str) and IRL.match(value) is not None


def is_language_tag(value: Any) -> bool:
    return _matches(value, LANGUAGE_TAG, _KNOWN_TAGS)


def is_duration(value: Any) -> bool:
    return isinstance(value, str) and DURATION.match(value) is not None


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp as an aware UTC datetime; None when it is not one.
    A negative zero offset (`-00`, `-0000`, `-00:00`: "offset unknown") is refused; a
    timestamp without an offset is read as UTC."""
    if not isinstance(value, str):
        return None
    match = TIMESTAMP.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.group(1, 2, 3, 4, 5, 6, 7)
    zulu, sign, oh, om, sign2, oh2 = match.group(8, 9, 10, 11, 12, 13)
    if sign is not None:
        offset_h, offset_m, offset_sign = int(oh), int(om), sign
    elif sign2 is not None:
        offset_h, offset_m, offset_sign = int(oh2), 0, sign2
    else:
        offset_h, offset_m, offset_sign = 0, 0, "+"
    if offset_sign == "-" and offset_h == 0 and offset_m == 0:
        return None
    if offset_h > 23 or offset_m > 59:
        return None
    micro = int((fraction or ".0")[1:7].ljust(6, "0"))
    delta = timedelta(hours=offset_h, minutes=offset_m)
    tz = timezone(delta if offset_sign == "+" else -delta) if (sign or sign2) else UTC
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError:
        return None
    del zulu
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted out of the calendar by its offset
        return None


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_timestamp(value: Any) -> bool:
    """`parse_timestamp(value) is not None`, without building the datetime (checked on
    every statement): the same pattern, offsets and calendar ranges."""
    if not isinstance(value, str):
        return False
    match = TIMESTAMP.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = map(int, match.group(1, 2, 3, 4, 5, 6))
    if year in (1, 9999):  # the UTC conversion may leave the calendar: the full parse
        return parse_timestamp(value) is not None
    sign, oh, om, sign2, oh2 = match.group(9, 10, 11, 12, 13)
    if sign is not None:
        offset_h, offset_m, negative = int(oh), int(om), sign == "-"
    elif sign2 is not None:
        offset_h, offset_m, negative = int(oh2), 0, sign2 == "-"
    else:
        offset_h, offset_m, negative = 0, 0, False
    if (negative and offset_h == 0 and offset_m == 0) or offset_h > 23 or offset_m > 59:
        return False
    if not (year >= 1 and 1 <= month <= 12 and hour < 24 and minute < 60 and second < 60):
        return False
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= _DAYS[month - 1] + leap


def format_timestamp(moment: datetime) -> str:
    """UTC with millisecond precision and a `Z` suffix (how the LRS writes `stored`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_UTC_SUFFIXES = ("+00:00", "+0000", "+00")


def normalise_timestamp(value: str) -> str:
    """A valid timestamp converted to UTC, keeping the precision given (xAPI 2.0). One
    already in UTC is only given its `Z` (the common case, no date arithmetic)."""
    if value.endswith("Z") and "T" in value:
        return value
    for suffix in _UTC_SUFFIXES:
        if value.endswith(suffix) and "T" in value:
            return value[: -len(suffix)] + "Z"
    moment = parse_timestamp(value)
    assert moment is not None
    match = TIMESTAMP.match(value)
    assert match is not None
    fraction = match.group(7) or ""
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        # keep the digits given (up to nanoseconds), shifted with the offset only in whole
        # seconds: offsets are whole minutes, so the fraction itself does not change
        base += fraction
    return base + "Z"
