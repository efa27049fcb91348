"""Request bodies and how domain objects are shown: field rules that give 422 with field
errors live here (pydantic), rules about state live in the domain."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from wijkkracht_common.ranking import Ranked

from marketplace.domain.categories import CODE_PATTERN, Categories
from marketplace.domain.groups import CreditPolicy, Group, GroupKind, Membership
from marketplace.domain.ledger import MAX_AMOUNT, GroupStatistics, Transfer
from marketplace.domain.matches import Match, visible_contacts
from marketplace.domain.matching import Candidate
from marketplace.domain.messages import MESSAGE_MAX, Message
from marketplace.domain.notifications import Notification
from marketplace.domain.places import BAND_LABELS, MAX_RADIUS_KM, MIN_RADIUS_KM, DistanceBand
from marketplace.domain.posts import MAX_LIFETIME_DAYS, TEXT_MAX, PartOfDay, PostKind, Scope, When
from marketplace.domain.safety import Certificate, Report, ReportReason, ReportTarget
from marketplace.domain.volunteers import NotifyMode, VolunteerProfile
from marketplace.service.matches import Side
from marketplace.service.posts import Shown

Id = Annotated[str, Field(min_length=1, max_length=64)]
ForPerson = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="A broker acting for this resident (with their consent for the broker's "
        "organisation, purpose marketplace_broker); logged in the resident's access log.",
    ),
]
Radius = Annotated[float, Field(ge=MIN_RADIUS_KM, le=MAX_RADIUS_KM)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PostIn(_In):
    kind: PostKind
    category: str = Field(pattern=CODE_PATTERN)
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    radius_km: Radius = 3.0
    when: When = When()
    visibility: Scope = Scope.TENANT
    group_id: Id | None = None
    #: Vacancies and local businesses' offers: the posting organisation (identity's slug).
    organisation: Id | None = None
    #: Organisations' posts only: the neighbourhood served.
    neighbourhood_code: Id | None = None
    lifetime_days: int | None = Field(default=None, ge=1, le=MAX_LIFETIME_DAYS)


class PostPatch(_In):
    text: str | None = Field(default=None, min_length=1, max_length=TEXT_MAX)
    when: When | None = None
    radius_km: Radius | None = None


class RenewIn(_In):
    lifetime_days: int | None = Field(default=None, ge=1, le=MAX_LIFETIME_DAYS)


class ResponseIn(_In):
    message: str | None = Field(default=None, min_length=1, max_length=MESSAGE_MAX)


class MessageIn(_In):
    text: str = Field(min_length=1, max_length=MESSAGE_MAX)


class ContactIn(_In):
    contact: str = Field(min_length=3, max_length=200)


class GroupIn(_In):
    name: str = Field(min_length=1, max_length=80)
    kind: GroupKind
    organisation: Id | None = None
    credits: CreditPolicy = CreditPolicy()
    vog_required: bool = False
    home_visit_categories: list[Annotated[str, Field(pattern=CODE_PATTERN)]] | None = None


class GroupPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    credits: CreditPolicy | None = None
    vog_required: bool | None = None
    home_visit_categories: list[Annotated[str, Field(pattern=CODE_PATTERN)]] | None = None


class PersonRef(_In):
    person_id: Id


class TransferIn(_In):
    to_person_id: Id
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    to_group_id: Id | None = None
    match_id: Id | None = None


class ReportIn(_In):
    target: ReportTarget
    target_id: Id
    reason: ReportReason
    note: str = Field(default="", max_length=500)


class DecisionIn(_In):
    uphold: bool


class BlockIn(_In):
    """Whom to block: a person (known from a match), or the author of a post."""

    person_id: Id | None = None
    post_id: Id | None = None

    @model_validator(mode="after")
    def _one(self) -> BlockIn:
        if (self.person_id is None) == (self.post_id is None):
            raise ValueError("give person_id or post_id")
        return self


class CertificateIn(_In):
    organisation: Id
    person_id: Id
    issued_on: date


class VolunteerIn(_In):
    categories: list[Annotated[str, Field(pattern=CODE_PATTERN)]] = Field(
        min_length=1, max_length=30
    )
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = []
    parts_of_day: list[PartOfDay] = []
    radius_km: Radius = 3.0
    notify: NotifyMode = NotifyMode.IMMEDIATE
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# -- presentation -----------------------------------------------------------------------------


def band(value: DistanceBand | None) -> dict[str, str] | None:
    if value is None:
        return None
    nl, en = BAND_LABELS[value]
    return {"code": value.value, "nl": nl, "en": en}


def post_out(shown: Shown) -> dict[str, Any]:
    """Never the owner's id to others, nor who typed it: neighbourhood and distance band."""
    post = shown.post
    out: dict[str, Any] = {
        "id": post.id,
        "kind": post.kind.value,
        "status": post.status.value,
        "category": post.category,
        "text": post.text,
        "neighbourhood_code": post.neighbourhood_code,
        "distance_band": band(shown.band),
        "radius_km": post.radius_km,
        "when": post.when.model_dump(mode="json"),
        "visibility": post.scope.value,
        "group_id": post.group_id,
        "organisation": post.organisation,
        "organization_id": post.organization_id,
        "created_at": post.created_at.isoformat(),
        "expires_at": post.expires_at.isoformat(),
        "mine": shown.mine,
    }
    if shown.mine:
        out |= {
            "owner_id": post.owner_id,
            "brokered": post.broker_org is not None,
            "broker_organisation": post.broker_org,
            "under_review": post.under_review,
            "reminded_at": post.reminded_at.isoformat() if post.reminded_at else None,
        }
    return out


def match_out(side: Side) -> dict[str, Any]:
    match: Match = side.match
    return {
        "id": match.id,
        "post_id": match.post_id,
        "post_kind": match.post_kind.value,
        "category": match.category,
        "neighbourhood_code": match.neighbourhood_code,
        "status": match.status.value,
        "my_side": "owner" if side.owner_side else "responder",
        "owner_id": match.owner_id,
        "organisation": match.organisation,
        "responder_id": match.responder_id,
        "created_at": match.created_at.isoformat(),
        "accepted_at": match.accepted_at.isoformat() if match.accepted_at else None,
        "done_at": match.done_at.isoformat() if match.done_at else None,
        "contacts_shared": match.contacts_shared(),
        "contacts": visible_contacts(match, side.party_id),
    }


def message_out(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "match_id": message.match_id,
        "sender_id": message.sender_id,
        "by_broker": message.written_by is not None,
        "text": message.text,
        "at": message.at.isoformat(),
        "under_review": message.under_review,
    }


def group_out(group: Group, membership: Membership | None) -> dict[str, Any]:
    return {
        **group.model_dump(mode="json", exclude={"created_by", "version"}),
        "my_membership": membership_out(membership) if membership else None,
    }


def membership_out(m: Membership) -> dict[str, Any]:
    return m.model_dump(mode="json")


def transfer_out(t: Transfer) -> dict[str, Any]:
    return t.model_dump(mode="json", exclude={"requested_by"})


def statistics_out(s: GroupStatistics) -> dict[str, Any]:
    return s.model_dump(mode="json")


def candidate_out(ranked: Ranked[Candidate], categories: Categories) -> dict[str, Any]:
    c = ranked.item
    return {
        "kind": c.kind.value,
        "ref_id": c.ref_id,
        "category": c.category,
        "category_label": categories.label(c.category),
        "neighbourhood_code": c.neighbourhood_code,
        "distance_band": band(c.band),
        "score": ranked.score,
    }


def notification_out(n: Notification) -> dict[str, Any]:
    return n.model_dump(mode="json", exclude={"person_id"})


def report_out(r: Report) -> dict[str, Any]:
    return r.model_dump(mode="json", exclude={"reporter_id"})


def certificate_out(c: Certificate) -> dict[str, Any]:
    return {
        **c.model_dump(mode="json", exclude={"recorded_by"}),
        "expires_on": c.expires_on.isoformat(),
    }


def volunteer_out(v: VolunteerProfile) -> dict[str, Any]:
    return {
        **v.model_dump(mode="json", exclude={"response_hours"}),
        "responsiveness": round(v.responsiveness(), 3),
    }
