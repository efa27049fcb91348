"""Posts: help requests (hulpvraag), offers (aanbod) and organisations' volunteer vacancies.

Everyone can ask and offer; there is no split between helpers and help-seekers. A post has a
category, a short text, a place (the poster's neighbourhood and a radius; never an address), a
time (once, recurring, flexible) and a visibility (the tenant, one neighbourhood, or a group).

Lifecycle: open → matched → done, or cancelled, or expired. An open post expires after its
lifetime; its owner is reminded a few days before and renews it in one click (stale posts
are the marketplace's version of a stale social map).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from marketplace.domain.errors import DomainValidationError, FieldError, StateConflict

TEXT_MAX = 500
DEFAULT_LIFETIME_DAYS = 30
MAX_LIFETIME_DAYS = 90
REMIND_DAYS_BEFORE = 3


class PostKind(StrEnum):
    REQUEST = "request"
    OFFER = "offer"
    VACANCY = "vacancy"


class PostStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


ACTIVE_STATUSES = frozenset({PostStatus.OPEN, PostStatus.MATCHED})


class Timing(StrEnum):
    ONCE = "once"
    RECURRING = "recurring"
    FLEXIBLE = "flexible"


class PartOfDay(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")]


class When(BaseModel):
    """Once (a date), recurring (weekdays) or flexible; optionally a part of the day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timing: Timing = Timing.FLEXIBLE
    on: date | None = None
    weekdays: list[Weekday] = []
    part_of_day: PartOfDay | None = None

    @model_validator(mode="after")
    def _consistent(self) -> When:
        if self.timing is Timing.ONCE and self.on is None:
            raise ValueError("a one-off post needs a date ('on')")
        if self.timing is Timing.RECURRING and not self.weekdays:
            raise ValueError("a recurring post needs weekdays")
        if self.timing is not Timing.ONCE and self.on is not None:
            raise ValueError("'on' is only for a one-off post")
        return self

    def weekdays_meant(self) -> frozenset[int]:
        """The weekdays the post is about (empty: any day)."""
        if self.timing is Timing.ONCE and self.on is not None:
            return frozenset({self.on.weekday()})
        return frozenset(self.weekdays)


class Scope(StrEnum):
    TENANT = "tenant"
    NEIGHBOURHOOD = "neighbourhood"
    GROUP = "group"


class Post(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    kind: PostKind
    status: PostStatus = PostStatus.OPEN
    category: str
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    neighbourhood_code: str
    radius_km: float
    when: When = When()
    scope: Scope = Scope.TENANT
    group_id: str | None = None
    #: The resident the post is for (None: an organisation's post).
    owner_id: str | None = None
    #: Identity's organisation slug for vacancies and local businesses' offers.
    organisation: str | None = None
    #: The social map's record of that organisation, when known.
    organization_id: str | None = None
    #: Who typed it: the owner, a broker for the owner, or staff of the organisation.
    posted_by: str
    #: The broker's organisation when a broker posted on the owner's behalf.
    broker_org: str | None = None
    created_at: datetime
    expires_at: datetime
    reminded_at: datetime | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    #: Reported and hidden from others until a moderator decides.
    under_review: bool = False
    version: int = 0

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def check_new_post(
    *,
    kind: PostKind,
    scope: Scope,
    group_id: str | None,
    owner_id: str | None,
    organisation: str | None,
) -> None:
    """Field errors of a new post's shape (categories and radius are checked elsewhere)."""
    errors: list[FieldError] = []
    if scope is Scope.GROUP and group_id is None:
        errors.append(FieldError("group_id", "a group post names its group"))
    if scope is not Scope.GROUP and group_id is not None:
        errors.append(FieldError("group_id", "only a group post names a group"))
    if kind is PostKind.VACANCY and organisation is None:
        errors.append(FieldError("organisation", "a vacancy is posted by an organisation"))
    if kind is PostKind.REQUEST and owner_id is None:
        errors.append(FieldError("kind", "a help request is made for a resident"))
    if errors:
        raise DomainValidationError(errors)


def lifetime(days: int | None) -> timedelta:
    chosen = DEFAULT_LIFETIME_DAYS if days is None else days
    if not 1 <= chosen <= MAX_LIFETIME_DAYS:
        raise DomainValidationError.single(
            "lifetime_days", f"between 1 and {MAX_LIFETIME_DAYS} days"
        )
    return timedelta(days=chosen)


CLOSED_TEXT = ("Deze oproep is afgesloten.", "This post is closed.")


def _conflict(kind: str, nl: str, en: str) -> StateConflict:
    return StateConflict(kind, nl, en)


def revise(post: Post, *, text: str | None, when: When | None, radius_km: float | None) -> Post:
    """The owner changes what, when or how far; the kind, category and place stay."""
    if not post.is_active:
        raise _conflict("post-closed", *CLOSED_TEXT)
    changes: dict[str, object] = {"version": post.version + 1}
    if text is not None:
        changes["text"] = text
    if when is not None:
        changes["when"] = when
    if radius_km is not None:
        changes["radius_km"] = radius_km
    return post.model_copy(update=changes)


def cancel(post: Post, now: datetime) -> Post:
    if not post.is_active:
        raise _conflict("post-closed", *CLOSED_TEXT)
    return post.model_copy(
        update={"status": PostStatus.CANCELLED, "closed_at": now, "version": post.version + 1}
    )


def renew(post: Post, now: datetime, days: int | None = None) -> Post:
    """One click: the post stays (or is again) open for another lifetime from now. An expired
    post can be renewed too; done or cancelled ones cannot."""
    if post.status not in (PostStatus.OPEN, PostStatus.EXPIRED):
        raise _conflict(
            "post-not-renewable",
            "Alleen een open of verlopen oproep kan verlengd worden.",
            "Only an open or expired post can be renewed.",
        )
    return post.model_copy(
        update={
            "status": PostStatus.OPEN,
            "expires_at": now + lifetime(days),
            "reminded_at": None,
            "closed_at": None,
            "version": post.version + 1,
        }
    )


def expire(post: Post, now: datetime) -> Post | None:
    """The expired post, or None when it is not (yet) due."""
    if post.status is not PostStatus.OPEN or post.expires_at > now:
        return None
    return post.model_copy(
        update={"status": PostStatus.EXPIRED, "closed_at": now, "version": post.version + 1}
    )


def remind_at(post: Post) -> datetime:
    return post.expires_at - timedelta(days=REMIND_DAYS_BEFORE)


def remind(post: Post, now: datetime) -> Post | None:
    """The post marked as reminded, or None when no reminder is due."""
    if post.status is not PostStatus.OPEN or post.reminded_at is not None or now < remind_at(post):
        return None
    return post.model_copy(update={"reminded_at": now, "version": post.version + 1})


def matched(post: Post) -> Post:
    if post.status is PostStatus.MATCHED:
        return post
    if post.status is not PostStatus.OPEN:
        raise _conflict("post-closed", *CLOSED_TEXT)
    return post.model_copy(update={"status": PostStatus.MATCHED, "version": post.version + 1})


def done(post: Post, now: datetime) -> Post:
    if post.status is PostStatus.DONE:
        return post
    if not post.is_active:
        raise _conflict("post-closed", *CLOSED_TEXT)
    return post.model_copy(
        update={"status": PostStatus.DONE, "closed_at": now, "version": post.version + 1}
    )


def responded(post: Post, now: datetime) -> Post:
    """The first response's time is kept (median time to first response)."""
    if post.first_response_at is not None:
        return post
    return post.model_copy(update={"first_response_at": now, "version": post.version + 1})


def under_review(post: Post, hidden: bool) -> Post:
    return post.model_copy(update={"under_review": hidden, "version": post.version + 1})
