"""An instrument as a tenant has it: one version of a definition, the organisation that owns
it (None for the shipped catalogue) and what it is for (its purpose)."""

from __future__ import annotations

from dataclasses import dataclass

from wijkkracht_common.events.questionnaires import InstrumentPurpose

from questionnaires.domain.definition import InstrumentDefinition, Status

#: Purpose per family (README "Decisions"): health self-assessments are conversation tools,
#: effect monitor and self-sufficiency matrix are measurements, everything else a survey. An
#: organisation may set `purpose` explicitly when it imports an instrument.
_PURPOSE_BY_FAMILY: dict[str, InstrumentPurpose] = {
    "health-self-assessment": "self_assessment",
    "effect-monitor": "measurement",
    "self-sufficiency-matrix": "measurement",
}


def purpose_for_family(family: str) -> InstrumentPurpose:
    return _PURPOSE_BY_FAMILY.get(family, "survey")


def instrument_key(instrument_id: str, version: int) -> str:
    """How one version is named (stored id, event subject): `<id>@<version>`."""
    return f"{instrument_id}@{version}"


@dataclass(frozen=True, slots=True)
class Instrument:
    definition: InstrumentDefinition
    owner: str | None  # organisation slug; None for shipped instruments
    purpose: InstrumentPurpose

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def version(self) -> int:
        return self.definition.version

    @property
    def key(self) -> str:
        return instrument_key(self.definition.id, self.definition.version)

    @property
    def status(self) -> Status:
        return self.definition.status

    @property
    def shipped(self) -> bool:
        return self.owner is None

    def with_definition(self, definition: InstrumentDefinition) -> Instrument:
        return Instrument(definition, self.owner, self.purpose)


__all__ = ["Instrument", "instrument_key", "purpose_for_family"]
