"""E-mail normalisation. Deliberately simple: sending mail verifies an address, not a regex."""

from __future__ import annotations

import re
import unicodedata

from identity.domain.texts import DomainError, Text

_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

EMAIL_ERROR = Text("Dit is geen geldig e-mailadres.", "This is not a valid e-mail address.")


def normalise_email(value: str) -> str:
    """NFKC + trim + lower-case, so one address has exactly one stored form (unique index)."""
    candidate = unicodedata.normalize("NFKC", value).strip().lower()
    if len(candidate) > 254 or _SHAPE.fullmatch(candidate) is None:
        raise DomainError(EMAIL_ERROR, "email")
    return candidate
