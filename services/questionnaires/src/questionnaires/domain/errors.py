"""Domain errors and the error records they carry (bilingual messages, machine-readable codes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from questionnaires.domain.i18n import LocalizedText


class DefinitionIssue(BaseModel):
    """A problem in an instrument definition; `path` points at the exact element (import format)."""

    model_config = ConfigDict(frozen=True)

    path: str
    code: str
    message: LocalizedText


class AnswerError(BaseModel):
    """A problem with one answer of a response."""

    model_config = ConfigDict(frozen=True)

    link_id: str
    code: str
    message: LocalizedText


class DomainError(Exception):
    """Base class: the use case layer maps these to RFC 9457 problems."""


class InvalidDefinition(DomainError):
    def __init__(self, issues: list[DefinitionIssue]) -> None:
        super().__init__(f"{len(issues)} problem(s) in instrument definition")
        self.issues = issues


class LifecycleError(DomainError):
    """A status transition or edit that the draft -> published -> retired lifecycle forbids."""


class InvalidResponse(DomainError):
    def __init__(self, errors: list[AnswerError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in answers")
        self.errors = errors


class ResponseAlreadySubmitted(DomainError):
    """Submitted responses are immutable."""


class DefinitionMismatch(DomainError):
    """A response paired with another definition (id, version) than it was started on."""


__all__ = [
    "AnswerError",
    "DefinitionIssue",
    "DefinitionMismatch",
    "DomainError",
    "InvalidDefinition",
    "InvalidResponse",
    "LifecycleError",
    "ResponseAlreadySubmitted",
]
