"""The Response aggregate: a resident's answers to one published definition version.

Immutable value style: every change returns a new Response. A response is pinned to the
definition (id, version) it was started on, so a later version never changes its meaning; once
submitted it cannot change at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from questionnaires.domain.answer_rules import validate_answers
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.errors import (
    DefinitionMismatch,
    InvalidResponse,
    LifecycleError,
    ResponseAlreadySubmitted,
)
from questionnaires.domain.i18n import Language
from questionnaires.domain.scoring import ScoreResult, score_response

ResponseStatus = Literal["in_progress", "submitted"]


class Response(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    instrument_id: str
    version: int
    family: str
    variant: str
    # Opaque person id; None for an anonymous self-assessment.
    subject_id: str | None
    language: Language
    status: ResponseStatus = "in_progress"
    answers: dict[str, ItemAnswer] = Field(default_factory=dict)
    # Opaque id of the professional or volunteer who filled it in with the resident.
    assisted_by: str | None = None
    started_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    result: ScoreResult | None = None

    @classmethod
    def start(
        cls,
        *,
        response_id: str,
        definition: InstrumentDefinition,
        subject_id: str | None,
        language: Language,
        now: datetime,
        assisted_by: str | None = None,
    ) -> Response:
        if definition.status != "published":
            raise LifecycleError("responses can only be started on a published version")
        return cls(
            id=response_id,
            instrument_id=definition.id,
            version=definition.version,
            family=definition.family,
            variant=definition.variant,
            subject_id=subject_id,
            language=language,
            assisted_by=assisted_by,
            started_at=now,
            updated_at=now,
        )

    @property
    def is_submitted(self) -> bool:
        return self.status == "submitted"

    def save_answers(
        self,
        definition: InstrumentDefinition,
        answers: Mapping[str, ItemAnswer],
        now: datetime,
        *,
        assisted_by: str | None = None,
    ) -> Response:
        """Partial save: merges `answers` into the earlier ones (an empty ItemAnswer clears one).
        Incomplete is fine; wrong types, unknown items etc. raise InvalidResponse."""
        self._ensure_changeable(definition)
        merged = self._merged(answers)
        errors = validate_answers(definition, merged, complete=False)
        if errors:
            raise InvalidResponse(errors)
        return self.model_copy(
            update={
                "answers": merged,
                "updated_at": now,
                "assisted_by": assisted_by or self.assisted_by,
            }
        )

    def submit(
        self,
        definition: InstrumentDefinition,
        now: datetime,
        answers: Mapping[str, ItemAnswer] | None = None,
    ) -> Response:
        """Checks completeness, scores, and freezes the response.

        `answers` (the final ones sent with the submit) are merged first, as `save_answers`
        does, and validated in the same pass: a problem with them is reported exactly as
        `save_answers` would (the completeness errors only when there is no other problem),
        so the outcome equals `save_answers(...).submit(...)` at half the validation work."""
        self._ensure_changeable(definition)
        merged = self._merged(answers) if answers else self.answers
        errors = validate_answers(definition, merged, complete=True)
        if errors:
            # complete=True reports what complete=False does, plus the "required" errors.
            invalid = [e for e in errors if e.code != "required"] if answers else []
            raise InvalidResponse(invalid or errors)
        return self.model_copy(
            update={
                "answers": merged,
                "status": "submitted",
                "submitted_at": now,
                "updated_at": now,
                "result": score_response(definition, merged),
            }
        )

    def _merged(self, answers: Mapping[str, ItemAnswer]) -> dict[str, ItemAnswer]:
        """Earlier answers with `answers` merged in (an empty ItemAnswer clears one)."""
        merged = dict(self.answers)
        for link_id, answer in answers.items():
            if answer.is_empty:
                merged.pop(link_id, None)
            else:
                merged[link_id] = answer
        return merged

    def _ensure_changeable(self, definition: InstrumentDefinition) -> None:
        if self.is_submitted:
            raise ResponseAlreadySubmitted(f"response {self.id} was submitted")
        if (definition.id, definition.version) != (self.instrument_id, self.version):
            raise DefinitionMismatch(
                f"response is on {self.instrument_id} v{self.version}, "
                f"got {definition.id} v{definition.version}"
            )


__all__ = ["Response", "ResponseStatus"]
