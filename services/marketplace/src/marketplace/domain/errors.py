"""Domain refusals. The HTTP layer renders them as RFC 9457 problems (422 with field errors,
409 for a state that does not allow the change)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainValidationError(ValueError):
    """Input the rules refuse; `errors` name the fields (→ 422)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def single(cls, field: str, message: str) -> DomainValidationError:
        return cls([FieldError(field, message)])


class StateConflict(Exception):
    """The aggregate's state does not allow the change (→ 409). `kind` names the reason."""

    def __init__(self, kind: str, nl: str, en: str) -> None:
        super().__init__(en)
        self.kind = kind
        self.text = f"{nl} / {en}"
