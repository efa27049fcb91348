"""Events of the learning_paths service (one class per event, defined only here)."""

from __future__ import annotations

from typing import ClassVar

from wijkkracht_common.events.common import PersonDataErasedBase


class LearningPathsPersonDataErased(PersonDataErasedBase):
    """The learning_paths erased a person's data (counts only)."""

    producer: ClassVar[str] = "learning_paths"
