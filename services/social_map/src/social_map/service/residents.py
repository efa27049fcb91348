"""Residents' coarse profiles (PC4, neighbourhood, age band), projected from identity's
`person_registered` / `person_profile_updated`; recommendations start from them."""

from __future__ import annotations

from datetime import datetime

from wijkkracht_common.events.identity import PersonProfileUpdated, PersonRegistered
from wijkkracht_common.outbox import Staged

from social_map.adapters.repositories import Repository
from social_map.domain.residents import Resident


async def save_profile(
    r: Repository, data: PersonRegistered | PersonProfileUpdated, at: datetime
) -> list[Staged]:
    """Effect: keep a resident's profile (staff members have none here)."""
    if isinstance(data, PersonRegistered) and data.kind != "resident":
        return []
    await r.save_resident(
        Resident(
            person_id=data.person_id,
            pc4=data.pc4,
            neighbourhood_code=data.neighbourhood_code,
            age_band=data.age_band,
            at=at,
        )
    )
    return []
