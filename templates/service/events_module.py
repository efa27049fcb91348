"""Events of the skeleton service (one class per event, defined only here)."""

from __future__ import annotations

from typing import ClassVar

from wijkkracht_common.events.common import PersonDataErasedBase


class SkeletonPersonDataErased(PersonDataErasedBase):
    """The skeleton erased a person's data (counts only)."""

    producer: ClassVar[str] = "skeleton"
