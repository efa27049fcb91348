"""In-platform notifications (and, for volunteers who gave an address, mail): a request near
them, a response to a post, a message, a post about to expire."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class NotificationKind(StrEnum):
    REQUEST_NEARBY = "request_nearby"
    RESPONSE = "response"
    MATCH_ACCEPTED = "match_accepted"
    MESSAGE = "message"
    EXPIRY_SOON = "expiry_soon"
    EXPIRED = "expired"
    HELP_DONE = "help_done"


class Delivery(StrEnum):
    PLATFORM = "platform"  # only in the platform's list
    IMMEDIATE = "immediate"  # mailed at once
    DIGEST = "digest"  # mailed in the daily digest


class Notification(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    person_id: str
    kind: NotificationKind
    post_id: str | None = None
    match_id: str | None = None
    category: str | None = None
    neighbourhood_code: str | None = None
    delivery: Delivery = Delivery.PLATFORM
    created_at: datetime
    mailed_at: datetime | None = None
    read: bool = False
