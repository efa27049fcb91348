"""Erasure across services: identity asks (`person_erasure_requested`), every expected
service erases or anonymises its data and confirms (`person_data_erased`, counts only);
when all expected services confirmed, identity erases its own data and the erasure is
complete. The expected set is fixed when the erasure is requested (a setting), so changing
the setting later does not change what an erasure in flight waits for.
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

    person_id: str
    requested_at: datetime
    expected_services: tuple[str, ...]
    confirmations: tuple[ServiceConfirmation, ...] = ()
    completed_at: datetime | None = None
    #: Times the request was sent again to services that had not confirmed, and the last one.
    reminders: int = 0
    last_asked_at: datetime | None = None

    @classmethod
    def requested(cls, person_id: str, *, at: datetime, expected: Iterable[str]) -> ErasureStatus:
        return cls(
            person_id=person_id, requested_at=at, expected_services=tuple(sorted(set(expected)))
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
        return self.completed_at is not None

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

    def completed(self, at: datetime) -> ErasureStatus:
        return (
            self if self.completed_at is not None else self.model_copy(update={"completed_at": at})
        )
