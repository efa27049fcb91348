"""The keys of the two projections: aggregate cells and persona cells.

Aggregate cell: tenant x organisation x neighbourhood x instrument family x dimension x period,
where dimension is a theme or life domain, or ``_all`` (residents measured with the family at
all). Persona cell: tenant x family x dimension x year x profile attribute x attribute value x
intervention type.

The folds key their sums by the raw forms (plain tuples of strings hash and compare in C); keys
become objects once, at the end (``cell_key``, ``persona_key``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from effect_measurement.domain.periods import Period, period_of_label

ALL_DIMENSIONS = "_all"
PROFILE_ATTRIBUTES = ("age_band", "household_type", "neighbourhood")

#: An aggregate cell key in raw form: (organisation, neighbourhood, family, dimension, period
#: label).
RawCell = tuple[str, str, str, str, str]
#: A persona key in raw form: (family, dimension, year label, attribute, value, intervention
#: type).
RawPersona = tuple[str, str, str, str, str, str]


# Not frozen: a frozen dataclass's __init__ costs one object.__setattr__ per field, and
# ingestion builds tens of keys per event. Treat it as immutable.
@dataclass(slots=True, order=True)
class CellKey:
    tenant: str
    organisation: str
    neighbourhood: str
    family: str
    dimension: str
    period: Period
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Folding a batch hashes each key several times: compute the hash once.
        self._hash = hash(
            (
                self.tenant,
                self.organisation,
                self.neighbourhood,
                self.family,
                self.dimension,
                self.period.label,
            )
        )

    def __hash__(self) -> int:
        return self._hash

    def as_id(self) -> str:
        return "|".join(
            (
                self.tenant,
                self.organisation,
                self.neighbourhood,
                self.family,
                self.dimension,
                self.period.label,
            )
        )


@dataclass(frozen=True, slots=True, order=True)
class PersonaKey:
    tenant: str
    family: str
    dimension: str
    year: Period
    attribute: str
    value: str
    intervention_type: str
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed several times per fold: once here instead of re-hashing seven fields.
        object.__setattr__(
            self,
            "_hash",
            hash(
                (
                    self.tenant,
                    self.family,
                    self.dimension,
                    self.year.label,
                    self.attribute,
                    self.value,
                    self.intervention_type,
                )
            ),
        )

    def __hash__(self) -> int:
        return self._hash


def cell_key(tenant: str, raw: RawCell) -> CellKey:
    organisation, neighbourhood, family, dimension, period = raw
    return CellKey(tenant, organisation, neighbourhood, family, dimension, period_of_label(period))


def persona_key(tenant: str, raw: RawPersona) -> PersonaKey:
    family, dimension, year, attribute, value, intervention_type = raw
    return PersonaKey(
        tenant, family, dimension, period_of_label(year), attribute, value, intervention_type
    )


class ProfileSnapshot(Protocol):
    """A point or stored measurement: the coarse profile it was taken with."""

    @property
    def age_band(self) -> str: ...
    @property
    def household_type(self) -> str: ...
    @property
    def neighbourhood(self) -> str: ...


def profile_values(snapshot: ProfileSnapshot) -> tuple[tuple[str, str], ...]:
    """(attribute, value) of each of ``PROFILE_ATTRIBUTES``: a persona change counts once
    under each."""
    return (
        ("age_band", snapshot.age_band),
        ("household_type", snapshot.household_type),
        ("neighbourhood", snapshot.neighbourhood),
    )
