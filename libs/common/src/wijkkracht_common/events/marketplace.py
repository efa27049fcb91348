"""Events produced by the marketplace service (v1).

Identifiers and facts only: post, match and transfer ids, person ids, categories and
neighbourhood codes; never a post's or message's text, a name, an e-mail or an address.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from wijkkracht_common.events.common import PersonDataErasedBase, PersonDataExportedBase
from wijkkracht_common.events.envelope import EventData

PostKind = Literal["request", "offer", "vacancy"]
Visibility = Literal["tenant", "neighbourhood", "group"]
CloseReason = Literal["done", "cancelled", "expired"]


class _MarketplaceEvent(EventData):
    producer: ClassVar[str] = "marketplace"


class PostPublished(_MarketplaceEvent):
    """A help request, offer or volunteer vacancy was published (ids and category only)."""

    event_name: ClassVar[str] = "post_published"
    post_id: str
    kind: PostKind
    category: str
    neighbourhood_code: str
    visibility: Visibility
    group_id: str | None = None
    #: The resident the post is for (None for an organisation's vacancy or offer).
    person_id: str | None = None
    organisation_slug: str | None = None
    #: Posted by a broker on the resident's behalf.
    brokered: bool = False


class PostClosed(_MarketplaceEvent):
    """A post left the market: help done, cancelled by its owner, or expired."""

    event_name: ClassVar[str] = "post_closed"
    post_id: str
    kind: PostKind
    category: str
    neighbourhood_code: str
    reason: CloseReason


class MatchMade(_MarketplaceEvent):
    """The owner of a post accepted a response: the helped person and the helper are matched."""

    event_name: ClassVar[str] = "match_made"
    match_id: str
    post_id: str
    category: str
    neighbourhood_code: str
    #: The person who helps (None: a local business's offer; `organisation_slug` says which).
    helper_id: str | None = None
    #: The person helped (None: an organisation's vacancy was filled).
    helped_person_id: str | None = None
    organisation_slug: str | None = None


class HelpCompleted(_MarketplaceEvent):
    """Help was given and marked done. Effect measurement records it as an intervention for
    the person helped, and as participation for the helper."""

    event_name: ClassVar[str] = "help_completed"
    match_id: str
    post_id: str
    category: str
    neighbourhood_code: str
    helper_id: str | None = None
    helped_person_id: str | None = None
    organisation_slug: str | None = None
    completed_at: datetime


class CreditsTransferred(_MarketplaceEvent):
    """Time credits moved between two accounts (one group, or two groups that both allow it);
    a correction is a reversal naming the transfer it reverses."""

    event_name: ClassVar[str] = "credits_transferred"
    transfer_id: str
    from_group_id: str
    to_group_id: str
    from_person_id: str
    to_person_id: str
    amount: int = Field(gt=0)
    reverses: str | None = None


class MarketplacePersonDataErased(PersonDataErasedBase):
    """The marketplace erased a person's posts and messages; ledger movements stay anonymous."""

    producer: ClassVar[str] = "marketplace"


class MarketplacePersonDataExported(PersonDataExportedBase):
    """Its part of a person's data export is stored (wijkkracht_common.export)."""

    producer: ClassVar[str] = "marketplace"
