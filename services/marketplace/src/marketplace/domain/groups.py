"""Groups: open (anyone in the tenant joins) or closed (by invitation or approval), owned by
an organisation or a residents' initiative, with moderators. A group may keep time credits
(its balance limits, and whether transfers to and from other groups are allowed) and may
require a valid certificate of conduct (VOG) from helpers in home-visit categories."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from marketplace.domain.categories import HOME_VISIT_CATEGORIES
from marketplace.domain.errors import StateConflict


class GroupKind(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class GroupOwner(StrEnum):
    ORGANISATION = "organisation"
    INITIATIVE = "initiative"


class CreditPolicy(BaseModel):
    """Time credits of a group. Balances stay within [min_balance, max_balance], enforced
    when a transfer is booked (a transfer past a limit is refused)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    min_balance: int = Field(default=-10, le=0, ge=-10_000)
    max_balance: int = Field(default=40, ge=0, le=10_000)
    #: Transfers to and from other groups of the tenant that allow it too.
    cross_group: bool = False


class Group(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str = Field(min_length=1, max_length=80)
    kind: GroupKind
    owner: GroupOwner
    organisation: str | None = None
    created_by: str
    created_at: datetime
    credits: CreditPolicy = CreditPolicy()
    #: Helpers in these categories need a valid VOG when `vog_required`.
    vog_required: bool = False
    home_visit_categories: list[str] = sorted(HOME_VISIT_CATEGORIES)
    version: int = 0

    @model_validator(mode="after")
    def _owner(self) -> Group:
        if (self.owner is GroupOwner.ORGANISATION) != (self.organisation is not None):
            raise ValueError("an organisation's group names the organisation (and only then)")
        return self

    def needs_vog(self, category: str) -> bool:
        return self.vog_required and category in self.home_visit_categories


class MemberRole(StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    INVITED = "invited"
    REQUESTED = "requested"


class Membership(BaseModel):
    model_config = ConfigDict(extra="ignore")

    group_id: str
    person_id: str
    role: MemberRole = MemberRole.MEMBER
    status: MemberStatus
    since: datetime

    @property
    def active(self) -> bool:
        return self.status is MemberStatus.ACTIVE

    @property
    def moderates(self) -> bool:
        return self.active and self.role is MemberRole.MODERATOR


def join(group: Group, person_id: str, existing: Membership | None, now: datetime) -> Membership:
    """Open group: member at once. Closed group: a request the moderators approve, unless the
    person was invited (then joining accepts the invitation)."""
    if existing is not None and existing.active:
        return existing
    if group.kind is GroupKind.OPEN or (
        existing is not None and existing.status is MemberStatus.INVITED
    ):
        status = MemberStatus.ACTIVE
    else:
        status = MemberStatus.REQUESTED
    return Membership(group_id=group.id, person_id=person_id, status=status, since=now)


def invite(group: Group, person_id: str, existing: Membership | None, now: datetime) -> Membership:
    """A moderator invites; a pending request is approved by it."""
    if existing is not None and existing.active:
        return existing
    if existing is not None and existing.status is MemberStatus.REQUESTED:
        return existing.model_copy(update={"status": MemberStatus.ACTIVE, "since": now})
    return Membership(
        group_id=group.id, person_id=person_id, status=MemberStatus.INVITED, since=now
    )


def approve(existing: Membership | None, now: datetime) -> Membership:
    if existing is None or existing.status is not MemberStatus.REQUESTED:
        raise StateConflict(
            "no-pending-request",
            "Er is geen aanvraag om te keuren.",
            "There is no pending request.",
        )
    return existing.model_copy(update={"status": MemberStatus.ACTIVE, "since": now})


def appoint_moderator(existing: Membership | None) -> Membership:
    if existing is None or not existing.active:
        raise StateConflict(
            "not-a-member", "Alleen leden kunnen moderator worden.", "Only members can moderate."
        )
    return existing.model_copy(update={"role": MemberRole.MODERATOR})
