"""Effect of identity's `consent_granted` / `consent_revoked`: the local projection of
consents that `access.py` decides on (who may see a resident's results, export them as FHIR).

Newest change wins per (person, organisation, purpose): a late or repeated event cannot undo a
newer state (`Consent.supersedes`).
"""

from __future__ import annotations

from wijkkracht_common.outbox import Staged

from questionnaires.adapters.repositories import Effect, Repositories
from questionnaires.domain.consent import Consent


def consent_changed(consent: Consent) -> Effect:
    """The effect of one consent change (applied once by the consumer)."""

    async def effect(repos: Repositories) -> list[Staged]:
        current = await repos.consents.get(consent.person_id, consent.organisation, consent.purpose)
        if consent.supersedes(current):
            await repos.consents.put(consent)
        return []

    return effect


__all__ = ["consent_changed"]
