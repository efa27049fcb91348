"""A professional's caseload: the residents who currently consent to their organisation.

Derived from each resident's consent ledger, never stored: a resident who revokes (or asks
for erasure, which revokes everything) is gone from the next read.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from identity.domain.consent import ConsentLedger, ConsentPurpose
from identity.domain.people import Person
from identity.domain.roles import Role

#: Who may read an organisation's caseload (holding one of these roles in it).
CASELOAD_ROLES = frozenset({Role.PROFESSIONAL, Role.ORG_ADMIN, Role.BROKER})


class CaseloadEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    display_name: str
    neighbourhood_code: str | None
    purposes: tuple[ConsentPurpose, ...]
    since: datetime


def caseload_entry(
    person: Person,
    ledger: ConsentLedger,
    organisation: str,
    purpose: ConsentPurpose | None = None,
) -> CaseloadEntry | None:
    """The resident's line, or None when they do not (or no longer) consent. `purposes`: every
    purpose granted to the organisation now; `since`: when the requested purpose was granted,
    without one the earliest grant in force."""
    if not person.is_active:
        return None
    granted = ledger.granted_since(organisation)
    if not granted or (purpose is not None and purpose not in granted):
        return None
    since = granted[purpose] if purpose is not None else min(granted.values())
    return CaseloadEntry(
        id=person.id,
        display_name=person.display_name,
        neighbourhood_code=person.neighbourhood_code,
        purposes=tuple(sorted(granted)),
        since=since,
    )
