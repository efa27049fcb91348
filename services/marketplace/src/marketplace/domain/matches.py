"""Matches: a response to a post, and what follows from it.

Someone responds to a post (offers help for a request, asks for an offered thing, applies
for a vacancy): a proposed match. The post's owner side accepts it (the match is made, the
post is matched) or declines; the responder may withdraw. Contact runs through in-platform
messages per match; contact details are shown only once both sides agreed to share them.
When the help is given either side marks it done (the post is done, help completed).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from marketplace.domain.errors import StateConflict
from marketplace.domain.posts import PostKind

CONTACT_MAX = 200


class MatchStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    DONE = "done"


OPEN_STATUSES = frozenset({MatchStatus.PROPOSED, MatchStatus.ACCEPTED})


class Match(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    post_id: str
    post_kind: PostKind
    category: str
    neighbourhood_code: str
    #: The post's owner (None: an organisation's post; its staff act for it).
    owner_id: str | None
    organisation: str | None = None
    responder_id: str
    status: MatchStatus = MatchStatus.PROPOSED
    created_at: datetime
    accepted_at: datetime | None = None
    done_at: datetime | None = None
    #: Who agreed to share contact details, with what they share (revealed when both did).
    contacts: dict[str, str] = Field(default_factory=dict)
    version: int = 0

    @property
    def parties(self) -> frozenset[str]:
        return frozenset(p for p in (self.owner_id, self.responder_id) if p is not None)

    @property
    def helper_id(self) -> str | None:
        """The one who gives help: the responder, except for an offer, where its owner helps
        (None: a local business's offer)."""
        if self.post_kind is PostKind.OFFER:
            return self.owner_id
        return self.responder_id

    @property
    def helped_id(self) -> str | None:
        """The person helped (None: an organisation's vacancy was filled)."""
        if self.post_kind is PostKind.OFFER:
            return self.responder_id
        return self.owner_id

    def other_party(self, person_id: str) -> str | None:
        if person_id == self.responder_id:
            return self.owner_id
        return self.responder_id

    def contacts_shared(self) -> bool:
        return self.owner_side_agreed() and self.responder_id in self.contacts

    def owner_side_agreed(self) -> bool:
        return any(p != self.responder_id for p in self.contacts)


def _conflict(kind: str, nl: str, en: str) -> StateConflict:
    return StateConflict(kind, nl, en)


def accept(match: Match, now: datetime) -> Match:
    if match.status is MatchStatus.ACCEPTED:
        return match
    if match.status is not MatchStatus.PROPOSED:
        raise _conflict(
            "match-not-proposed", "Deze reactie is niet meer open.", "This response is not open."
        )
    return match.model_copy(
        update={"status": MatchStatus.ACCEPTED, "accepted_at": now, "version": match.version + 1}
    )


def decline(match: Match) -> Match:
    if match.status is not MatchStatus.PROPOSED:
        raise _conflict(
            "match-not-proposed", "Deze reactie is niet meer open.", "This response is not open."
        )
    return match.model_copy(update={"status": MatchStatus.DECLINED, "version": match.version + 1})


def withdraw(match: Match) -> Match:
    if match.status not in OPEN_STATUSES:
        raise _conflict(
            "match-closed", "Deze match is al afgesloten.", "This match is already closed."
        )
    return match.model_copy(update={"status": MatchStatus.WITHDRAWN, "version": match.version + 1})


def complete(match: Match, now: datetime) -> Match:
    if match.status is MatchStatus.DONE:
        return match
    if match.status is not MatchStatus.ACCEPTED:
        raise _conflict(
            "match-not-accepted",
            "Alleen een geaccepteerde match kan klaar zijn.",
            "Only an accepted match can be marked done.",
        )
    return match.model_copy(
        update={"status": MatchStatus.DONE, "done_at": now, "version": match.version + 1}
    )


def share_contact(match: Match, side_id: str, contact: str) -> Match:
    """`side_id`: the responder, or the owner side (the owner's id, or the organisation's
    staff member's) agreeing to share `contact` (a phone number or e-mail they choose)."""
    if match.status not in (*OPEN_STATUSES, MatchStatus.DONE):
        raise _conflict(
            "match-closed", "Deze match is al afgesloten.", "This match is already closed."
        )
    contacts = {**match.contacts, side_id: contact.strip()[:CONTACT_MAX]}
    return match.model_copy(update={"contacts": contacts, "version": match.version + 1})


def visible_contacts(match: Match, viewer_side: str) -> dict[str, str]:
    """What `viewer_side` sees: its own shared detail always, the other's only when both
    agreed."""
    if match.contacts_shared():
        return dict(match.contacts)
    return {k: v for k, v in match.contacts.items() if k == viewer_side}
