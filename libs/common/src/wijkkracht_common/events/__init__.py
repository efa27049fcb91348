"""The ONLY event definitions: envelope + one module per producing service."""

from wijkkracht_common.events.envelope import (
    Envelope,
    EventData,
    new_event,
    new_event_id,
    parse_event,
)

__all__ = ["Envelope", "EventData", "new_event", "new_event_id", "parse_event"]
