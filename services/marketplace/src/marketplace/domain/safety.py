"""Safety: reports of posts and messages (hidden from others until a moderator decides),
blocking a person, and certificates of conduct (VOG) that organisations record."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from marketplace.domain.errors import StateConflict

VOG_VALID_YEARS = 3


class ReportTarget(StrEnum):
    POST = "post"
    MESSAGE = "message"


class ReportReason(StrEnum):
    UNSAFE = "unsafe"
    INAPPROPRIATE = "inappropriate"
    SPAM = "spam"
    COMMERCIAL = "commercial"
    OTHER = "other"


class ReportStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # stays hidden
    DISMISSED = "dismissed"  # shown again


class Report(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    target: ReportTarget
    target_id: str
    #: The group whose moderators review it (None: the tenant's moderators).
    group_id: str | None = None
    reporter_id: str
    #: The author of what was reported.
    author_id: str | None = None
    reason: ReportReason
    note: str = Field(default="", max_length=500)
    status: ReportStatus = ReportStatus.OPEN
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None


def decide(report: Report, *, uphold: bool, by: str, now: datetime) -> Report:
    if report.status is not ReportStatus.OPEN:
        raise StateConflict(
            "report-decided", "Over deze melding is al besloten.", "This report was decided."
        )
    status = ReportStatus.UPHELD if uphold else ReportStatus.DISMISSED
    return report.model_copy(update={"status": status, "decided_by": by, "decided_at": now})


class Block(BaseModel):
    model_config = ConfigDict(extra="ignore")

    blocker_id: str
    blocked_id: str
    at: datetime


class Certificate(BaseModel):
    """A certificate of conduct (Verklaring Omtrent het Gedrag) an organisation saw."""

    model_config = ConfigDict(extra="ignore")

    organisation: str
    person_id: str
    issued_on: date
    recorded_by: str
    recorded_at: datetime

    @property
    def expires_on(self) -> date:
        return add_years(self.issued_on, VOG_VALID_YEARS)

    def valid_on(self, day: date) -> bool:
        return self.issued_on <= day < self.expires_on


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
