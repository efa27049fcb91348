"""Password rules (pure). Hashing lives in ``identity.service.passwords`` (argon2, CPU-bound)."""

from __future__ import annotations

import unicodedata

from identity.domain.texts import Text

MIN_PASSWORD_LENGTH = 10

# A short deny-list of the most common choices (Dutch and international). The length rule
# already excludes most of the classic top-100; these are the long ones people still pick.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "123456789a",
        "1q2w3e4r5t",
        "qwertyuiop",
        "qwerty1234",
        "password12",
        "password123",
        "wachtwoord",
        "wachtwoord1",
        "wachtwoord12",
        "wachtwoord123",
        "welkom1234",
        "welkom12345",
        "iloveyou123",
        "aaaaaaaaaa",
        "abcdefghij",
        "abcd123456",
        "voetbal123",
        "feyenoord1",
        "wijkkracht",
        "wijkkracht1",
        "wijkkracht123",
    }
)

TOO_SHORT = Text(
    f"Het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn.",
    f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
)
SAME_AS_EMAIL = Text(
    "Het wachtwoord mag niet gelijk zijn aan het e-mailadres.",
    "The password must not be the same as the e-mail address.",
)
TOO_COMMON = Text(
    "Dit wachtwoord wordt te vaak gebruikt; kies een ander.",
    "This password is too common; choose another one.",
)


def check_password(password: str, email: str | None = None) -> list[Text]:
    """All rule violations (empty list = acceptable). Length counts characters after NFC."""
    normalised = unicodedata.normalize("NFC", password)
    problems: list[Text] = []
    if len(normalised) < MIN_PASSWORD_LENGTH:
        problems.append(TOO_SHORT)
    folded = normalised.strip().casefold()
    if email is not None and folded == email.strip().casefold():
        problems.append(SAME_AS_EMAIL)
    if folded in COMMON_PASSWORDS:
        problems.append(TOO_COMMON)
    return problems
