"""An invitation to fill in an instrument: by a professional or volunteer, or a follow-up of
an effect-measurement trajectory.

Status: sent -> opened -> started -> submitted, or expired once `due_at` passed before the
submit. Expiry shows at once (`status_at`); the periodic sweep stores it later.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from questionnaires.domain.i18n import Language

InvitationStatus = Literal["sent", "opened", "started", "submitted", "expired"]

OPEN_STATES: tuple[InvitationStatus, ...] = ("sent", "opened", "started")
REMINDABLE_STATES: tuple[InvitationStatus, ...] = ("sent", "opened")  # not started yet


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    instrument_id: str
    person_id: str | None  # a resident with an account ...
    email: str | None  # ... or one without (reminders need the address)
    organisation: str | None
    invited_by: str
    due_at: datetime | None
    followup_of: str | None  # trajectory id of a follow-up
    status: InvitationStatus
    created_at: datetime
    updated_at: datetime
    language: Language | None = None
    reminders: int = 0
    response_id: str | None = None
    auto_reminded_at: float | None = None  # epoch seconds of the automatic reminder

    @property
    def by_email(self) -> bool:
        return self.email is not None

    def status_at(self, now: datetime) -> InvitationStatus:
        if self.status in OPEN_STATES and self.due_at is not None and self.due_at < now:
            return "expired"
        return self.status

    def opened(self) -> Invitation:
        return replace(self, status="opened")

    def reminded(self, at: datetime) -> Invitation:
        return replace(self, reminders=self.reminders + 1, updated_at=at)

    def due_for_automatic_reminder(self, ahead: timedelta) -> bool:
        """Only invitations that already existed `ahead` before their due date (one due
        tomorrow is not "reminded" right after it was sent)."""
        return self.due_at is not None and self.created_at <= self.due_at - ahead


__all__ = ["OPEN_STATES", "REMINDABLE_STATES", "Invitation", "InvitationStatus"]
