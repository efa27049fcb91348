"""Volunteers who opted in to be told about requests: categories, availability, area, and
how they want to hear (immediately or in a daily digest). Their responsiveness (how soon
they answered requests before) feeds the ranking of candidates."""

from __future__ import annotations

import statistics
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from marketplace.domain.places import DEFAULT_RADIUS_KM
from marketplace.domain.posts import PartOfDay, Weekday, When

#: How many recent response delays are kept for the responsiveness figure.
RECENT_RESPONSES = 20


class NotifyMode(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    NONE = "none"


class VolunteerProfile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    person_id: str
    categories: list[str] = Field(min_length=1, max_length=30)
    weekdays: list[Weekday] = []  # empty: any day
    parts_of_day: list[PartOfDay] = []  # empty: any time
    radius_km: float = DEFAULT_RADIUS_KM
    notify: NotifyMode = NotifyMode.IMMEDIATE
    #: Where notifications go; the volunteer gives it here (identity's address is not shared).
    email: str | None = Field(default=None, max_length=254)
    active: bool = True
    #: Hours between a request's publication and this volunteer's response, most recent last.
    response_hours: list[float] = []
    updated_at: datetime

    def availability_fit(self, when: When) -> float:
        """1 when the volunteer is available when help is wanted, 0.5 when either side is
        flexible about it, 0 when the days or parts of the day do not meet."""
        wanted_days = when.weekdays_meant()
        days_ok = not wanted_days or not self.weekdays or bool(wanted_days & set(self.weekdays))
        part = when.part_of_day
        part_ok = part is None or not self.parts_of_day or part in self.parts_of_day
        if not (days_ok and part_ok):
            return 0.0
        specific = bool(wanted_days and self.weekdays) or bool(part and self.parts_of_day)
        return 1.0 if specific else 0.5

    def responsiveness(self) -> float:
        """0..1: answering within hours scores high; unknown is 0.5."""
        if not self.response_hours:
            return 0.5
        return 1.0 / (1.0 + statistics.median(self.response_hours) / 24.0)

    def with_response(self, hours: float) -> VolunteerProfile:
        recent = [*self.response_hours, max(hours, 0.0)][-RECENT_RESPONSES:]
        return self.model_copy(update={"response_hours": recent})
