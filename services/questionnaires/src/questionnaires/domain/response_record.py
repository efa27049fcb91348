"""A response as this service keeps it: the `Response` aggregate and the context of its start
(purpose, organisation, invitation and trajectory, parameters), the hash of an anonymous
resume token, who started it, the Idempotency-Key of its submit, and, for an invited
response, the resident's choice whether the inviting organisation may see the answers.

Records are immutable like the aggregate; a change returns a new record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from wijkkracht_common.events.questionnaires import InstrumentPurpose

from questionnaires.domain.response import Response, ResponseStatus


@dataclass(frozen=True, slots=True)
class SubmitKey:
    """The Idempotency-Key a response was submitted with (README "Decisions")."""

    key: str  # "<scope>:<Idempotency-Key>"
    fingerprint: str  # of the request body


@dataclass(frozen=True, slots=True)
class InviterShare:
    """The resident's choice at the end of an invited response: may the inviting
    organisation see the answers (`shared`), decided at `at`."""

    organisation: str
    shared: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    response: Response
    purpose: InstrumentPurpose
    organisation: str | None = None  # on whose behalf (assisted, invited)
    invitation_id: str | None = None
    trajectory_id: str | None = None  # the follow-up's trajectory (from its invitation)
    params: Mapping[str, str] = field(default_factory=dict)
    resume_hash: str | None = None  # anonymous responses: hash of the resume token
    started_by: str | None = None  # the person or staff subject who started it
    submit_key: SubmitKey | None = None
    inviter_share: InviterShare | None = None

    @property
    def id(self) -> str:
        return self.response.id

    @property
    def person_id(self) -> str | None:
        return self.response.subject_id

    @property
    def assisted_by(self) -> str | None:
        return self.response.assisted_by

    @property
    def status(self) -> ResponseStatus:
        return self.response.status

    @property
    def family(self) -> str:
        return self.response.family

    def with_response(self, response: Response) -> ResponseRecord:
        return replace(self, response=response)

    def submitted_with(self, response: Response, key: SubmitKey | None) -> ResponseRecord:
        """The record of a submit (`key`: its Idempotency-Key, kept for retries)."""
        return replace(self, response=response, submit_key=key or self.submit_key)

    @property
    def shared_with_inviter(self) -> InviterShare | None:
        """The share, if the resident allowed the inviting organisation to see the answers."""
        share = self.inviter_share
        return share if share is not None and share.shared else None

    def with_inviter_share(self, share: InviterShare) -> ResponseRecord:
        return replace(self, inviter_share=share)

    def attached_to(self, person_id: str) -> ResponseRecord:
        """An anonymous (invited) response attached to the account the resident made later."""
        return replace(self, response=self.response.model_copy(update={"subject_id": person_id}))

    def without_staff(self, staff_id: str, tombstone: str) -> ResponseRecord:
        """The record with a (now erased) staff member unlinked: who assisted or started it
        becomes `tombstone` (the response still shows that it was assisted), and the submit's
        Idempotency-Key scoped by that staff member's subject goes."""
        response = self.response
        if response.assisted_by == staff_id:
            response = response.model_copy(update={"assisted_by": tombstone})
        key = self.submit_key
        return replace(
            self,
            response=response,
            started_by=tombstone if self.started_by == staff_id else self.started_by,
            submit_key=None if key is not None and key.key.startswith(f"{staff_id}:") else key,
        )


def earlier_of(record: ResponseRecord, others: Iterable[ResponseRecord]) -> ResponseRecord | None:
    """The person's submitted response of the same family just before `record` (their own
    trend: the earlier web the spider chart overlays), None when this is their first."""
    at = record.response.submitted_at or record.response.started_at
    earlier = [
        other
        for other in others
        if other.id != record.id
        and other.family == record.family
        and other.person_id == record.person_id
        and other.response.submitted_at is not None
        and other.response.submitted_at < at
    ]
    return max(earlier, key=lambda r: r.response.submitted_at or at, default=None)


__all__ = ["InviterShare", "ResponseRecord", "SubmitKey", "earlier_of"]
