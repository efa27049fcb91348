"""The resident's access log (NEN 7513): one line per access to their data, by any service.

Identity keeps a projection of every service's `access.recorded` events; names are resolved
only when the resident reads it (events carry ids, never names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from identity.domain.texts import Text


class AccessRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str  # the event id: a redelivered event cannot add a second line
    at: datetime
    resident: str
    service: str
    actor: str
    on_behalf_of: str | None = None
    action: str
    resource: str
    reason: str
    trace_id: str | None = None


@dataclass(frozen=True)
class AccessLine:
    """A record as the resident reads it, resolved now (`domain.descriptions` words)."""

    record: AccessRecord
    who: Text
    organisation_name: str | None
    what: Text
    why: Text
