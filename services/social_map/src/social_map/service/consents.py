"""Consents, projected from identity's `consent_granted` / `consent_revoked`: a professional
sees a resident's recommendations only with `share_results` for their organisation."""

from __future__ import annotations

from datetime import datetime

from wijkkracht_common.events.identity import ConsentGranted, ConsentRevoked
from wijkkracht_common.outbox import Staged

from social_map.adapters.repositories import Repository
from social_map.domain.residents import ConsentState


async def save_consent(
    r: Repository, data: ConsentGranted | ConsentRevoked, at: datetime
) -> list[Staged]:
    """Effect: the consent's state as of this event."""
    await r.save_consent(
        ConsentState(
            person_id=data.person_id,
            organisation=data.organisation_slug,
            purpose=data.purpose,
            active=isinstance(data, ConsentGranted),
            at=at,
        )
    )
    return []
