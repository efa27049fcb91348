"""What the social map keeps about residents, projected from other services' events:
the coarse profile (identity), consents (identity) and dimension scores of responses
(questionnaires). Used for recommendations; all of it goes on erasure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Resident:
    person_id: str
    pc4: str | None
    neighbourhood_code: str | None
    age_band: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class ConsentState:
    person_id: str
    organisation: str
    purpose: str
    active: bool
    at: datetime | None

    @property
    def key(self) -> str:
        return consent_key(self.person_id, self.organisation, self.purpose)


def consent_key(person_id: str, organisation: str, purpose: str) -> str:
    return f"{person_id}|{organisation}|{purpose}"


@dataclass(frozen=True, slots=True)
class ResponseScores:
    """A submitted response's dimension scores (0..10), owned by a resident."""

    response_id: str
    person_id: str
    scores: dict[str, float]
    family: str
    submitted_at: datetime | None
