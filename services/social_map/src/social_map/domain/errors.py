"""Domain errors that carry field names, so the HTTP layer can build RFC 9457 `errors`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class DomainValidationError(ValueError):
    """Bad input to a domain rule. `errors` lists every offending field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    @classmethod
    def single(cls, field: str, message: str) -> DomainValidationError:
        return cls([FieldError(field, message)])

    @property
    def fields(self) -> list[str]:
        return [e.field for e in self.errors]
