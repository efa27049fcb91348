"""A response as this service keeps it: the `Response` aggregate and the context of its start
(purpose, organisation, invitation and trajectory, parameters), the hash of an anonymous
resume token, who started it, and the Idempotency-Key of its submit.

Records are immutable like the aggregate; a change returns a new record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from wijkkracht_common.events.questionnaires import InstrumentPurpose

from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.response import Response, ResponseStatus


@dataclass(frozen=True, slots=True)
class SubmitKey:
    """The Idempotency-Key a response was submitted with (README "Decisions")."""

    key: str  # "<scope>:<Idempotency-Key>"
    fingerprint: str  # of the request body


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
    anonymised: bool = False

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

    def without_person(self, answer_types: Mapping[str, str]) -> ResponseRecord:
        """The record without the person (erasure of a submitted response): free-text
        answers, who assisted, the organisation and invitation, who started it and the
        submit's Idempotency-Key (scoped by the caller's subject) are removed; scores and
        coded answers stay for anonymous statistics. `answer_types`: link id -> answer type."""
        answers = {
            link_id: (
                ItemAnswer(skipped=answer.skipped)
                if isinstance(answer.value, str)
                and answer_types.get(link_id, "short_text") == "short_text"
                else answer
            )
            for link_id, answer in self.response.answers.items()
        }
        cleaned = self.response.model_copy(
            update={"subject_id": None, "assisted_by": None, "answers": answers}
        )
        return replace(
            self,
            response=cleaned,
            organisation=None,
            invitation_id=None,
            started_by=None,
            submit_key=None,
            anonymised=True,
        )


__all__ = ["ResponseRecord", "SubmitKey"]
