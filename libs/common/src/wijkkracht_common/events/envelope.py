"""CloudEvents 1.0 envelope (architecture §4) with Wijkkracht's extensions.

Every event payload is an `EventData` subclass defined ONCE in `events/<producer>.py`; the
class carries its producer, name and version, from which the CloudEvents `type`, `source` and
the NATS subject are derived, so publishers and consumers cannot disagree about them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import to_json
from uuid6 import uuid7

from wijkkracht_common.tenancy import SLUG_PATTERN, current_correlation_id

SPEC_VERSION = "1.0"
#: First token of every event subject. NATS (2.10+) refuses stream subjects that begin with a
#: wildcard (`*.identity.>` might overlap `$JS.>`), so subjects are `wk.<tenant>.<service>...`.
SUBJECT_ROOT = "wk"


class EventData(BaseModel):
    """Base of every event payload. Consumers ignore unknown fields (forward compatible)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    producer: ClassVar[str]
    event_name: ClassVar[str]
    event_version: ClassVar[int] = 1

    @classmethod
    def event_type(cls) -> str:
        return f"nl.wijkkracht.{cls.producer}.{cls.event_name}.v{cls.event_version}"

    @classmethod
    def event_source(cls) -> str:
        return f"/wijkkracht/{cls.producer}"

    @classmethod
    def subject_for(cls, tenant: str) -> str:
        return f"{SUBJECT_ROOT}.{tenant}.{cls.producer}.{cls.event_name}.v{cls.event_version}"

    @classmethod
    def subject_filter(cls) -> str:
        """Subject pattern matching this event in every tenant."""
        return f"{SUBJECT_ROOT}.*.{cls.producer}.{cls.event_name}.v{cls.event_version}"


DataT = TypeVar("DataT", bound=EventData)


def new_event_id() -> str:
    return str(uuid7())


class Envelope(BaseModel, Generic[DataT]):
    """A CloudEvent carrying `data` of one event class."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: str = SPEC_VERSION
    id: str = Field(default_factory=new_event_id, min_length=1, max_length=64)
    source: str
    type: str
    time: datetime
    subject: str = Field(min_length=1, max_length=200, description="aggregate id")
    datacontenttype: str = "application/json"
    tenant: str = Field(pattern=SLUG_PATTERN.pattern)
    organisation: str | None = None
    actor: str | None = Field(default=None, description="who caused it: an id, never a name")
    correlationid: str | None = None
    data: DataT

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must be timezone-aware")
        return value

    @property
    def nats_subject(self) -> str:
        """`wk.<tenant>.<producer>.<event>.v<N>`."""
        return self.data.subject_for(self.tenant)


def new_event(
    data: DataT,
    *,
    tenant: str,
    subject: str,
    actor: str | None = None,
    organisation: str | None = None,
    correlationid: str | None = None,
    time: datetime | None = None,
) -> Envelope[DataT]:
    """Build the envelope for `data`; type/source come from the data class."""
    cls = type(data)
    return Envelope[cls](  # type: ignore[valid-type]
        source=cls.event_source(),
        type=cls.event_type(),
        time=time or datetime.now(UTC),
        subject=subject,
        tenant=tenant,
        organisation=organisation,
        actor=actor,
        correlationid=correlationid or current_correlation_id(),
        data=data,
    )


@dataclass(frozen=True, slots=True)
class SerializedEvent:
    """An event as the JSON of its envelope (see `serialize_event`); the outbox stores and
    publishes it like an `Envelope`."""

    id: str
    type: str
    nats_subject: str
    json: str


def serialize_event(
    cls: type[EventData],
    data: Mapping[str, Any],
    *,
    tenant: str,
    subject: str,
    time: datetime,
    actor: str | None = None,
    organisation: str | None = None,
    correlationid: str | None = None,
) -> SerializedEvent:
    """The JSON `new_event(cls(**data), ...).model_dump_json()` would give, without building
    the two models (~10 µs per event; effect ingestion stages thousands per transaction).
    Nothing is validated: `data` must be what `cls` holds, in JSON-ready types (a test per
    producer compares both ways)."""
    event_id, event_type = new_event_id(), cls.event_type()
    body = {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": cls.event_source(),
        "type": event_type,
        "time": time,
        "subject": subject,
        "datacontenttype": "application/json",
        "tenant": tenant,
        "organisation": organisation,
        "actor": actor,
        "correlationid": correlationid,
        "data": data,
    }
    return SerializedEvent(event_id, event_type, cls.subject_for(tenant), to_json(body).decode())


def parse_event(event_cls: type[DataT], raw: bytes | str | dict[str, Any]) -> Envelope[DataT]:
    """Validate a received event against the class it should be; raises pydantic errors."""
    model = Envelope[event_cls]  # type: ignore[valid-type]
    if isinstance(raw, dict):
        envelope = model.model_validate(raw)
    else:
        envelope = model.model_validate_json(raw)
    if envelope.type != event_cls.event_type():
        raise ValueError(f"event type {envelope.type!r} is not {event_cls.event_type()!r}")
    return envelope  # type: ignore[return-value]


def tenant_of_subject(subject: str) -> str:
    """The tenant token of an event subject (`wk.<tenant>.…`)."""
    parts = subject.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == SUBJECT_ROOT else ""
