"""Domain input types mirroring event payloads (the real event classes live in libs/common).

Consumers ignore unknown fields, so every model uses ``extra="ignore"``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator


class InstrumentKind(StrEnum):
    # A resident's own spider web: shown as their own trend, never aggregated or benchmarked.
    SELF_ASSESSMENT = "self_assessment"
    # Effect monitor, self-sufficiency matrix, ...: feeds trajectories and aggregates.
    MEASUREMENT = "measurement"


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone")
    return value


#: A phase or level (1-5) and a 0-10 score. As constraints, not Python validators: checked by
#: pydantic-core (ingestion validates thousands of measurements per second).
Ordinal = Annotated[int, Field(ge=1, le=5)]
Score = Annotated[float, Field(ge=0.0, le=10.0)]


class MeasurementInput(BaseModel):
    """Data of a ``response_submitted`` event from the questionnaires service."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    response_id: str = Field(min_length=1)
    person_id: str | None = None  # pseudonymous; None for anonymous responses
    organisation: str | None = None
    instrument_id: str = Field(min_length=1)
    family: str = Field(min_length=1)
    variant: str = "default"
    version: int = Field(default=1, ge=1)
    kind: InstrumentKind
    submitted_at: AwareDatetime
    dimension_scores: dict[str, Score] = Field(default_factory=dict)
    phases: dict[str, Ordinal] = Field(default_factory=dict)
    levels: dict[str, Ordinal] = Field(default_factory=dict)
    skipped_count: int = Field(default=0, ge=0)
    discussable_count: int = Field(default=0, ge=0)


class PersonProfileInput(BaseModel):
    """Data of ``person_registered`` / ``person_profile_updated`` events (coarse fields only).

    Names, e-mail addresses and postcodes are ignored even if an event were to carry them.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    person_id: str = Field(min_length=1)
    neighbourhood_code: str | None = None
    birth_year: int | None = Field(default=None, ge=1900)
    age_band: str | None = None
    household_type: str | None = None


#: Where an intervention comes from: learning paths' completed modules and paths, the
#: marketplace's completed help, or recorded by staff (`POST /interventions`; the demo's
#: are recorded that way too). Stored with it: who may see it follows from it.
InterventionSource = Literal["learning_paths", "marketplace", "recorded"]


class InterventionInput(BaseModel):
    """Any event with a person, a type and a time: an intervention (see ``interventions``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    intervention_id: str = Field(min_length=1)  # the source event id: de-duplicates redelivery
    person_id: str = Field(min_length=1)
    type: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]{1,60}$")
    occurred_at: datetime
    organisation: str | None = None
    source: InterventionSource = "recorded"

    _aware = field_validator("occurred_at")(_require_aware)
