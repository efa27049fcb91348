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


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and IRI.match(value) is not None


def is_irl(value: Any) -> bool:
    return isinstance(value, str) and IRL.match(value) is not None


def is_language_tag(value: Any) -> bool:
    return isinstance(value, str) and LANGUAGE_TAG.match(value) is not None


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
    return moment.astimezone(UTC)


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
