"""What the marketplace keeps of people and organisations from identity's events: a
resident's neighbourhood (never an address) and age band; an organisation's kind."""

from __future__ import annotations

from dataclasses import dataclass

#: Identity's organisation kind for local businesses (they may offer something back).
BUSINESS_KIND = "business"


@dataclass(frozen=True, slots=True)
class ResidentProfile:
    person_id: str
    neighbourhood_code: str | None = None
    pc4: str | None = None
    age_band: str | None = None
    #: When identity said so (epoch seconds): an older event never replaces a newer one.
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class Organisation:
    slug: str
    kind: str = "welfare"

    @property
    def is_business(self) -> bool:
        return self.kind == BUSINESS_KIND
