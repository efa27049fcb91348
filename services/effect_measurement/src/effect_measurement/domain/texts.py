"""Bilingual texts and the domain's error type (shared with the other services)."""

from wijkkracht_common.texts import DomainError, Text

__all__ = ["DomainError", "Text"]
