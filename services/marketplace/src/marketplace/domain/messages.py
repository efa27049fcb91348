"""In-platform messages per match: the only contact until both sides share details."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MESSAGE_MAX = 2000


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    match_id: str
    #: The party the message is from (a resident, also when a broker typed it).
    sender_id: str
    #: A broker who wrote it for the sender (None: the sender wrote it).
    written_by: str | None = None
    text: str = Field(min_length=1, max_length=MESSAGE_MAX)
    at: datetime
    under_review: bool = False
