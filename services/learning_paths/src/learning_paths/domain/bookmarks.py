"""The example aggregate: a resident's bookmark. Pure rules, no I/O, no framework."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Bookmark(BaseModel):
    id: str
    person_id: str
    title: str = Field(min_length=1, max_length=200)
    created_at: datetime


def may_read(bookmark: Bookmark, person_id: str | None) -> bool:
    """Only the resident who made a bookmark reads it (others get 404, not 403)."""
    return person_id is not None and bookmark.person_id == person_id
