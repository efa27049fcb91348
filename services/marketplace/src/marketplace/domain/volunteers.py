"""Volunteers who opted in to be told about requests: categories, availability, area, and
how they want to hear (immediately or in a daily digest). Their responsiveness (how soon
they answered requests before) feeds the ranking of candidates."""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import dataclass
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


def availability_fit(
    weekdays: Collection[int], parts_of_day: Collection[PartOfDay], when: When
) -> float:
    """1 when the helper is available when help is wanted, 0.5 when either side is flexible
    about it, 0 when the days or parts of the day do not meet."""
    wanted_days = when.weekdays_meant()
    days_ok = not wanted_days or not weekdays or bool(wanted_days & set(weekdays))
    part = when.part_of_day
    part_ok = part is None or not parts_of_day or part in parts_of_day
    if not (days_ok and part_ok):
        return 0.0
    specific = bool(wanted_days and weekdays) or bool(part and parts_of_day)
    return 1.0 if specific else 0.5


@dataclass(frozen=True, slots=True)
class Helper:
    """A volunteer as matching and telling read it (kept per category, with the
    neighbourhood: no per-person reads on the hot path)."""

    person_id: str
    neighbourhood_code: str | None
    categories: tuple[str, ...]
    weekdays: frozenset[int] = frozenset()
    parts_of_day: frozenset[PartOfDay] = frozenset()
    radius_km: float = DEFAULT_RADIUS_KM
    responsiveness: float = 0.5
    notify: NotifyMode = NotifyMode.NONE
    email: str | None = None

    def availability_fit(self, when: When) -> float:
        return availability_fit(self.weekdays, self.parts_of_day, when)


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
    #: The volunteer's neighbourhood (identity's profile, projected; kept current).
    neighbourhood_code: str | None = None
    #: Hours between a request's publication and this volunteer's response, most recent last.
    response_hours: list[float] = []
    updated_at: datetime

    def availability_fit(self, when: When) -> float:
        return availability_fit(self.weekdays, self.parts_of_day, when)

    def responsiveness(self) -> float:
        """0..1: answering within hours scores high; unknown is 0.5."""
        if not self.response_hours:
            return 0.5
        return 1.0 / (1.0 + statistics.median(self.response_hours) / 24.0)

    def helper(self) -> Helper:
        return Helper(
            person_id=self.person_id,
            neighbourhood_code=self.neighbourhood_code,
            categories=tuple(self.categories),
            weekdays=frozenset(self.weekdays),
            parts_of_day=frozenset(self.parts_of_day),
            radius_km=self.radius_km,
            responsiveness=self.responsiveness(),
            notify=self.notify,
            email=self.email,
        )

    def with_response(self, hours: float) -> VolunteerProfile:
        recent = [*self.response_hours, max(hours, 0.0)][-RECENT_RESPONSES:]
        return self.model_copy(update={"response_hours": recent})
