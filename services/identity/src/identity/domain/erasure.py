"""Erasure across services: identity asks (`person_erasure_requested`), every expected
service erases or anonymises its data and confirms (`person_data_erased`, counts only);
when all expected services confirmed, identity erases its own data and the erasure is
complete. The expected set is fixed when the erasure is requested (a setting), so changing
the setting later does not change what an erasure in flight waits for.

A status is kept under `key`, a one-way tombstone of the person (the service layer derives it
from tenant and person id), never under the person's id. The id itself is held only while the
erasure runs — to ask the services again, and afterwards to purge the person's messages from
the event streams — and is forgotten once the streams are clean (`forgotten`): from then on
nothing in the status links back to the person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict


class ServiceConfirmation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    event_id: str
    confirmed_at: datetime
    erased: dict[str, int] = {}
    anonymised: dict[str, int] = {}


class ErasureStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: One-way tombstone of (tenant, person): the stored id of the status.
    key: str
    #: The person's id while the erasure runs; None once forgotten (streams purged).
    person_id: str | None
    requested_at: datetime
    expected_services: tuple[str, ...]
    confirmations: tuple[ServiceConfirmation, ...] = ()
    completed_at: datetime | None = None
    #: Times the request was sent again to services that had not confirmed, and the last one.
    reminders: int = 0
    last_asked_at: datetime | None = None
    #: Objects of the person's exports (parts, archives) to delete with the stream purge.
    export_objects: tuple[str, ...] = ()
    #: When the person's messages were gone from every stream and the id was forgotten.
    purged_at: datetime | None = None

    @classmethod
    def requested(
        cls, person_id: str, *, key: str, at: datetime, expected: Iterable[str]
    ) -> ErasureStatus:
        return cls(
            key=key,
            person_id=person_id,
            requested_at=at,
            expected_services=tuple(sorted(set(expected))),
        )

    @property
    def confirmed_services(self) -> frozenset[str]:
        return frozenset(c.service for c in self.confirmations)

    @property
    def pending_services(self) -> tuple[str, ...]:
        return tuple(s for s in self.expected_services if s not in self.confirmed_services)

    @property
    def all_confirmed(self) -> bool:
        return not self.pending_services

    @property
    def is_complete(self) -> bool:
        """Every expected service confirmed and identity erased its own data."""
        return self.completed_at is not None

    @property
    def awaits_purge(self) -> bool:
        """Complete, but the person's messages may still be in the streams."""
        return self.is_complete and self.purged_at is None and self.person_id is not None

    @property
    def phase(self) -> str:
        """What the resident and the admin see: `pending` (services still erasing),
        `purging` (identity's data is gone, the event streams are being cleaned) or
        `completed` (nothing left that names the person)."""
        if not self.is_complete:
            return "pending"
        return "completed" if self.purged_at is not None else "purging"

    def confirm(
        self,
        service: str,
        *,
        event_id: str,
        at: datetime,
        erased: Mapping[str, int],
        anonymised: Mapping[str, int],
    ) -> ErasureStatus:
        """Record a service's confirmation; a later one of the same service replaces it
        (a service that erases again reports its latest counts)."""
        confirmation = ServiceConfirmation(
            service=service,
            event_id=event_id,
            confirmed_at=at,
            erased=dict(erased),
            anonymised=dict(anonymised),
        )
        others = tuple(c for c in self.confirmations if c.service != service)
        ordered = tuple(sorted((*others, confirmation), key=lambda c: c.service))
        return self.model_copy(update={"confirmations": ordered})

    def reminder_due(self, now: datetime, every: timedelta) -> bool:
        """Still waiting for a service `every` after the request (or the last reminder)."""
        if self.is_complete or self.all_confirmed:
            return False
        return now - (self.last_asked_at or self.requested_at) >= every

    def reminded(self, at: datetime) -> ErasureStatus:
        return self.model_copy(update={"reminders": self.reminders + 1, "last_asked_at": at})

    def completed(self, at: datetime, *, export_objects: Iterable[str] = ()) -> ErasureStatus:
        if self.completed_at is not None:
            return self
        objects = tuple(sorted({*self.export_objects, *export_objects}))
        return self.model_copy(update={"completed_at": at, "export_objects": objects})

    def forgotten(self, at: datetime) -> ErasureStatus:
        """The streams are clean: drop the person's id and the export object names."""
        return self.model_copy(update={"person_id": None, "export_objects": (), "purged_at": at})
