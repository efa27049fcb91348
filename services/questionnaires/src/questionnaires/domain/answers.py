"""One answer as the resident (or an assisting professional) gives it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# bool before int: pydantic's smart union keeps JSON true/false as bool, 3 as int, 3.5 as float.
AnswerValue = bool | int | float | str | list[str]


class ItemAnswer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    value: AnswerValue | None = None
    # "Hier praat ik liever niet over / I'd rather not discuss this" (sensitive items only).
    skipped: bool = False
    # "Hier wil ik over praten / I want to talk about this".
    discussable: bool = False

    @property
    def has_value(self) -> bool:
        if self.value is None:
            return False
        if isinstance(self.value, str):
            return bool(self.value.strip())
        if isinstance(self.value, list):
            return bool(self.value)
        return True

    @property
    def is_empty(self) -> bool:
        """Nothing given at all: saving it clears an earlier answer."""
        return self.value is None and not self.skipped and not self.discussable


__all__ = ["AnswerValue", "ItemAnswer"]
