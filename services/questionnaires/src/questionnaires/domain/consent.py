"""The local copy of a resident's consent for one organisation and purpose (identity owns
consent and publishes its changes; this service keeps the latest state of each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Consent:
    person_id: str
    organisation: str
    purpose: str
    granted: bool
    at: datetime  # when identity recorded the change

    def supersedes(self, current: Consent | None) -> bool:
        """Newest change wins: events of one person may arrive out of order after a retry,
        and a late one must not undo a newer state."""
        return current is None or current.at <= self.at


__all__ = ["Consent"]
