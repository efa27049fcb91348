"""Access-log records (NEN 7513) that every service emits, collected by identity so a
resident can read who accessed their data (`GET /identity/v1/me/access-log`).

These events have their own stream `ACCESS` (`wk.<tenant>.access.recorded.v1`) because every
service produces them; the subject's producer segment is `access`, not a service.
"""

from __future__ import annotations

from typing import ClassVar

from wijkkracht_common.events.envelope import EventData


class AccessRecorded(EventData):
    """Someone read or changed a resident's data (NEN 7513 access-log record)."""

    producer: ClassVar[str] = "access"
    event_name: ClassVar[str] = "recorded"

    service: str
    actor: str
    on_behalf_of: str | None = None
    resident: str
    action: str
    resource: str
    reason: str
    trace_id: str | None = None
