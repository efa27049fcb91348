"""One-time login codes for assisted registration.

A professional registers a resident who has no e-mail and hands over a printed code such as
``K7MP-3QXA``. Eight characters from a 31-character alphabet without look-alikes (0/O, 1/I/L)
give ~40 bits: enough for single use, 14-day expiry and login throttling, but too little to
survive an offline brute force of a plain hash. So the code is stored as HMAC-SHA256 with a
server-side pepper (a setting, not in the database): a leaked database alone reveals nothing,
and the deterministic hash still lets the adapter find the record by hash.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from identity.domain.randomness import RandomSource
from identity.domain.texts import Text

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(days=14)

CODE_INVALID = Text(
    "Deze inlogcode is onbekend, al gebruikt of verlopen.",
    "This login code is unknown, already used or expired.",
)


class LoginCode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code_hash: str
    person_id: str
    tenant: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


def generate_code(source: RandomSource) -> str:
    """A code formatted as two groups of four, e.g. ``K7MP-3QXA``."""
    chars = "".join(ALPHABET[source.below(len(ALPHABET))] for _ in range(CODE_LENGTH))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_code(typed: str) -> str | None:
    """What a person typed -> canonical 8 characters, or None when it cannot be a code.

    Case, spaces and hyphens are forgiven. Characters outside the alphabet (0, 1, O, I, L)
    are never generated, so input containing them is simply invalid.
    """
    compact = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(compact) != CODE_LENGTH or any(ch not in ALPHABET for ch in compact):
        return None
    return compact


def hash_code(code: str, pepper: bytes) -> str:
    """Keyed hash of the canonical form; ``code`` may be formatted or not."""
    canonical = normalise_code(code)
    if canonical is None:
        raise ValueError("not a login code")
    return hmac.new(pepper, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def issue_login_code(
    *,
    person_id: str,
    tenant: str,
    created_by: str,
    now: datetime,
    pepper: bytes,
    source: RandomSource,
) -> tuple[str, LoginCode]:
    """Return the plain code (show/print once, never store) and the record to store."""
    code = generate_code(source)
    record = LoginCode(
        code_hash=hash_code(code, pepper),
        person_id=person_id,
        tenant=tenant,
        created_by=created_by,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    return code, record


def redeem_login_code(record: LoginCode | None, *, now: datetime) -> LoginCode | None:
    """The record marked used (to store with a conditional update on ``used_at is None``),
    or None when the code may not be used. The adapter's conditional update is what makes
    single use hold under concurrency; this function makes it hold logically."""
    if record is None or record.used_at is not None or now >= record.expires_at:
        return None
    return record.model_copy(update={"used_at": now})
