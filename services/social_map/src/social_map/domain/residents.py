"""What the social map keeps about residents, projected from other services' events:
the coarse profile (identity) and dimension scores of responses (questionnaires); consents
are the platform's one projection (`wijkkracht_common.consent`). Used for recommendations;
all of it goes on erasure and is in the person's export."""

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
class ResponseScores:
    """A submitted response's dimension scores (0..10), owned by a resident."""

    response_id: str
    person_id: str
    scores: dict[str, float]
    family: str
    submitted_at: datetime | None
