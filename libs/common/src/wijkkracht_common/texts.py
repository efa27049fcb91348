"""Bilingual user-facing texts: Dutch first, English second (pure: usable in domain layers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Text:
    """A message shown to people. The HTTP layer picks a language; ``str()`` shows both."""

    nl: str
    en: str

    def __str__(self) -> str:
        return f"{self.nl} / {self.en}"


class DomainError(ValueError):
    """A domain rule was broken; carries a bilingual message and the field it concerns."""

    def __init__(self, text: Text, field: str | None = None) -> None:
        super().__init__(str(text))
        self.text = text
        self.field = field
