"""Correction tasks: a "dit klopt niet meer" report as work for the entry's owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from social_map.domain.model import Entry

NOTE_LENGTH = 280


@dataclass(frozen=True, slots=True)
class CorrectionTask:
    id: str
    entry_id: str
    entry_name: str
    organization_id: str
    owner_slug: str | None
    note: str
    reporter: str  # actor id (never shown to the owner: anti-abuse)
    created_at: datetime
    status: str = "open"  # open | done
    closed_at: datetime | None = None
    kind: str = "correction"

    @classmethod
    def opened(
        cls,
        report_id: str,
        entry: Entry,
        *,
        owner_slug: str | None,
        note: str,
        reporter: str,
        now: datetime,
    ) -> CorrectionTask:
        return cls(
            id=report_id,
            entry_id=entry.id,
            entry_name=entry.name,
            organization_id=entry.organization_id,
            owner_slug=owner_slug,
            note=note.strip()[:NOTE_LENGTH],
            reporter=reporter,
            created_at=now,
        )
