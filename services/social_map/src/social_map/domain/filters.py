"""Search filters as a pure predicate over an entry.

`SearchFilters.category_codes(taxonomy)` also gives the adapter an indexed pre-filter
(`{"category_codes": {"$in": [...]}}`); the predicate re-checks everything in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from social_map.domain.errors import DomainValidationError
from social_map.domain.model import Entry, EntryKind
from social_map.domain.occurrences import entry_open_at, schedule_on_weekday_between
from social_map.domain.taxonomy import Taxonomy


class SearchFilters(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str | None = None  # includes descendants
    age: Annotated[int, Field(ge=0, le=120)] | None = None
    free_only: bool = False
    open_at: datetime | None = None  # "open now": pass now; evaluated in Europe/Amsterdam
    weekday: Annotated[int, Field(ge=0, le=6)] | None = None  # 0 = Monday
    time_from: time | None = None
    time_to: time | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] | None = None
    accessibility: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")]] = []
    kind: EntryKind | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.open_at is not None and self.open_at.tzinfo is None:
            raise ValueError("open_at: must carry a timezone")
        if (self.time_from is None) != (self.time_to is None):
            raise ValueError("time_to: give time_from and time_to together")
        if self.time_from and self.time_to and self.time_from >= self.time_to:
            raise ValueError("time_to: must be after time_from")
        if self.time_from is not None and self.weekday is None:
            raise ValueError("weekday: required with time_from/time_to")
        return self

    def category_codes(self, taxonomy: Taxonomy) -> set[str] | None:
        if self.category is None:
            return None
        if self.category not in taxonomy:
            raise DomainValidationError.single("category", f"unknown category {self.category!r}")
        return taxonomy.descendants(self.category)


def build_predicate(
    filters: SearchFilters, taxonomy: Taxonomy, today: date
) -> Callable[[Entry], bool]:
    """`today` anchors the weekday/time check (next five weeks of the schedule)."""
    codes = filters.category_codes(taxonomy)

    def keep(entry: Entry) -> bool:
        if filters.kind is not None and entry.kind is not filters.kind:
            return False
        if codes is not None and not codes.intersection(entry.category_codes):
            return False
        if filters.age is not None and not entry.eligibility.admits(filters.age):
            return False
        if filters.free_only and not entry.cost.free:
            return False
        if filters.language is not None and filters.language not in {
            lang.code for lang in entry.languages
        }:
            return False
        if filters.accessibility:
            # every requested feature at one and the same location
            wanted = set(filters.accessibility)
            if not any(wanted <= {a.code for a in loc.accessibility} for loc in entry.locations):
                return False
        if filters.open_at is not None and not entry_open_at(entry, filters.open_at):
            return False
        if filters.weekday is not None:
            start = filters.time_from or time(0, 0)
            end = filters.time_to or time(23, 59, 59)
            if not any(
                schedule_on_weekday_between(s, filters.weekday, start, end, today)
                for s in entry.schedules
            ):
                return False
        return True

    return keep
