"""Instrument families this service can measure with, and how a response becomes a measurement.

Built in: the platform's shipped instruments (questionnaires/instruments). A tenant may publish
more (`instrument_published`, kept in the `instruments` projection). A response of a family
known to neither, or naming a dimension its family does not have, is refused (dead-lettered).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import PermanentError

from effect_measurement.domain.inputs import InstrumentKind, MeasurementInput
from effect_measurement.service.ports import Repositories

BUILT_IN_FAMILIES: dict[str, frozenset[str]] = {
    "effect-monitor": frozenset({"informal_care", "relationship", "household_budget"}),
    "self-sufficiency-matrix": frozenset(
        {
            "finances",
            "work_education",
            "daytime_activities",
            "housing",
            "domestic_relations",
            "mental_health",
            "physical_health",
            "substance_use",
            "basic_adl",
            "instrumental_adl",
            "social_network",
            "community_participation",
            "justice",
        }
    ),
    "health-self-assessment": frozenset(
        {
            "bodily_functions",
            "mental_wellbeing",
            "meaningfulness",
            "quality_of_life",
            "participation",
            "daily_functioning",
        }
    ),
}


async def families(repos: Repositories) -> dict[str, frozenset[str]]:
    """Family → dimension codes, built-in plus the tenant's published instruments."""
    known = dict(BUILT_IN_FAMILIES)
    for family, dimensions in (await repos.instruments.published()).items():
        known[family] = known.get(family, frozenset()) | dimensions
    return known


def to_measurement(
    envelope: Envelope[ResponseSubmitted], known: Mapping[str, frozenset[str]]
) -> MeasurementInput | None:
    """The measurement a response is, None for surveys; PermanentError when it can never apply."""
    data = envelope.data
    if data.purpose == "survey":
        return None
    dimensions = known.get(data.family)
    if dimensions is None:
        raise PermanentError(f"unknown instrument family {data.family!r}")
    unknown = (set(data.dimension_scores) | set(data.phases) | set(data.levels)) - dimensions
    if unknown:
        raise PermanentError(f"unknown dimensions for {data.family!r}: {sorted(unknown)}")
    try:
        return MeasurementInput(
            response_id=data.response_id,
            person_id=data.person_id,
            organisation=envelope.organisation,
            instrument_id=data.instrument_id,
            family=data.family,
            variant=data.variant,
            version=data.version,
            kind=InstrumentKind(data.purpose),
            submitted_at=data.submitted_at,
            dimension_scores=data.dimension_scores,
            phases=data.phases,
            levels=data.levels,
            skipped_count=data.skipped_count,
            discussable_count=data.discussable_count,
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise PermanentError(f"invalid measurement: {where}: {first.get('msg')}") from error
