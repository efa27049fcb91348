"""Bilingual text. Dutch is the primary language of the platform, English the second."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, model_validator

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


class LocalizedText(BaseModel):
    """A text in one or both languages; which ones are required is decided per instrument."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nl: str | None = None
    en: str | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> LocalizedText:
        if not (self.nl or self.en):
            raise ValueError("text needs at least one of nl, en")
        return self

    def get(self, language: Language) -> str:
        """The text in `language`, else the other language rather than nothing."""
        primary = self.nl if language == "nl" else self.en
        fallback = self.en if language == "nl" else self.nl
        return primary or fallback or ""

    def has(self, language: Language) -> bool:
        return bool(self.nl if language == "nl" else self.en)

    def substitute(self, params: dict[str, str]) -> LocalizedText:
        """Replace `{name}` placeholders; plain replacement, since texts may hold other braces."""

        def fill(text: str | None) -> str | None:
            if text is None:
                return None
            for name, value in params.items():
                text = text.replace("{" + name + "}", value)
            return text

        return LocalizedText(nl=fill(self.nl), en=fill(self.en))

    def texts(self) -> list[str]:
        return [t for t in (self.nl, self.en) if t]


def t(nl: str, en: str) -> LocalizedText:
    """Shorthand for code that builds texts (messages, labels)."""
    return LocalizedText(nl=nl, en=en)


__all__ = ["LANGUAGES", "Language", "LocalizedText", "t"]
