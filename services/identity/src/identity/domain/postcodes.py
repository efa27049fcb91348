"""Four-digit postcodes (PC4). Deliberately nothing finer: never letters, house numbers or BSN."""

from __future__ import annotations

import re

from identity.domain.texts import DomainError, Text

_PC4 = re.compile(r"^[1-9][0-9]{3}$")

PC4_ERROR = Text(
    "Vul alleen de 4 cijfers van de postcode in (1000–9999), zonder letters of adres.",
    "Enter only the 4 digits of the postcode (1000–9999), without letters or address.",
)


def validate_pc4(value: str, field: str = "pc4") -> str:
    """Return the PC4 unchanged or raise; surrounding whitespace is the only thing forgiven."""
    candidate = value.strip()
    if _PC4.fullmatch(candidate) is None:
        raise DomainError(PC4_ERROR, field)
    return candidate
