"""A resident's export of everything (architecture §9): one job per request, a part from every
expected service, then one archive.

The resident asks (or an admin on the resident's written request, with the reason stated);
identity publishes `person_export_requested`, every expected service stores its part and
answers with where it is; when every part is in, identity adds its own part and builds the
archive. A job that is still running is returned again instead of starting a second one,
until it is `RUNNING_FOR` old (a service that never answers does not block a new request
for ever). Parts and archive live in the object store for `KEPT_FOR` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

#: How long parts and the archive are kept (the object store's age limit).
KEPT_FOR = timedelta(days=7)


class ExportState(StrEnum):
    RUNNING = "running"  # waiting for the services' parts
    READY = "ready"  # the archive can be downloaded
    EXPIRED = "expired"  # the archive (or the parts) are gone


class ExportPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    object_name: str
    counts: dict[str, int] = {}
    received_at: datetime


class ExportJob(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    person_id: str
    requested_at: datetime
    #: Who asked: the person, or the admin acting on the person's written request.
    requested_by: str
    #: The admin's stated reason (kept here, never sent in events); None for the person.
    reason: str | None = None
    expected_services: tuple[str, ...]
    parts: tuple[ExportPart, ...] = ()
    archive_object: str | None = None
    ready_at: datetime | None = None

    @classmethod
    def requested(
        cls,
        export_id: str,
        person_id: str,
        *,
        at: datetime,
        by: str,
        expected: Iterable[str],
        reason: str | None = None,
    ) -> ExportJob:
        return cls(
            id=export_id,
            person_id=person_id,
            requested_at=at,
            requested_by=by,
            reason=reason,
            expected_services=tuple(sorted(set(expected))),
        )

    @property
    def by_admin(self) -> bool:
        return self.requested_by != self.person_id

    @property
    def received_services(self) -> frozenset[str]:
        return frozenset(p.service for p in self.parts)

    @property
    def pending_services(self) -> tuple[str, ...]:
        return tuple(s for s in self.expected_services if s not in self.received_services)

    @property
    def all_parts_in(self) -> bool:
        return not self.pending_services

    @property
    def is_ready(self) -> bool:
        return self.archive_object is not None

    def expires_at(self) -> datetime:
        return (self.ready_at or self.requested_at) + KEPT_FOR

    def state(self, now: datetime) -> ExportState:
        if now >= self.expires_at():
            return ExportState.EXPIRED
        return ExportState.READY if self.is_ready else ExportState.RUNNING

    def is_running(self, now: datetime, running_for: timedelta) -> bool:
        """Still waiting for parts, and young enough to be returned to a repeated request."""
        return not self.is_ready and now - self.requested_at < running_for

    def with_part(
        self, service: str, *, object_name: str, counts: Mapping[str, int], at: datetime
    ) -> ExportJob:
        """Record a service's part; a later answer of the same service replaces it."""
        part = ExportPart(
            service=service, object_name=object_name, counts=dict(counts), received_at=at
        )
        others = tuple(p for p in self.parts if p.service != service)
        return self.model_copy(
            update={"parts": tuple(sorted((*others, part), key=lambda p: p.service))}
        )

    def ready(self, archive_object: str, at: datetime) -> ExportJob:
        if self.is_ready:
            return self
        return self.model_copy(update={"archive_object": archive_object, "ready_at": at})

    def object_names(self, part_name: str, archive_name: str) -> list[str]:
        """Every object this job may have in the store: a part per expected (or answering)
        service and the archive. `part_name`/`archive_name` are format strings with
        `{service}` (the object store's naming lives in the service layer)."""
        services = sorted({*self.expected_services, *self.received_services})
        names = {part_name.format(service=s) for s in services}
        names |= {p.object_name for p in self.parts}
        names.add(self.archive_object or archive_name)
        return sorted(names)
