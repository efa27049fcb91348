"""The export contract (architecture §9): this service's part of a person's data.

`build(repos, person)` reads everything kept about the person here: their measurements (with
the coarse profile snapshot each one carries), their trajectories as the resident sees them
(tracks, changes, goals, the interventions in each), all their interventions, the coarse
profile, and which organisations they share what with as this service knows it; `counts` says
how many of each. Aggregate cells are not part of it: they hold counts of groups, never a
person. Subscribed as
`export.contribute(..., answer=EffectsPersonDataExported)` (`entrypoints/consumers.py`).
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common import export
from wijkkracht_common.events.effect_measurement import EffectsPersonDataExported
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.messaging import Delivery
from wijkkracht_common.runtime import ServiceRuntime

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.trajectories import StoredMeasurement
from effect_measurement.presentation.trajectories import intervention_view, trajectory_view
from effect_measurement.service.ports import Db, Repositories, RepositoryFactory
from effect_measurement.service.trajectories import (
    Overview,
    interventions_of,
    person_trajectories,
)


def _measurement(trajectory: str, stored: StoredMeasurement) -> dict[str, Any]:
    m = stored.measurement
    return {
        "response_id": m.response_id,
        "trajectory_id": trajectory or None,
        "organisation": m.organisation,
        "instrument_id": m.instrument_id,
        "family": m.family,
        "kind": m.kind.value,
        "submitted_at": m.submitted_at,
        "dimension_scores": dict(m.dimension_scores),
        "phases": dict(m.phases),
        "levels": dict(m.levels),
        "skipped_count": m.skipped_count,
        "discussable_count": m.discussable_count,
        "profile_at_the_time": {
            "neighbourhood": stored.neighbourhood,
            "age_band": stored.age_band,
            "household_type": stored.household_type,
        },
    }


async def build(repos: Repositories, person: str) -> dict[str, Any]:
    """The person's part, JSON-ready (datetimes become ISO strings when it is stored)."""
    measurements = sorted(
        await repos.measurements.of_person(person),
        key=lambda pair: (pair[1].measurement.submitted_at, pair[1].measurement.response_id),
    )
    interventions = sorted(
        await interventions_of(repos, person), key=lambda i: (i.occurred_at, i.intervention_id)
    )
    # As the resident sees them, each with the interventions in it.
    shown = Overview.of(await person_trajectories(repos, person), interventions)
    trajectories = [
        trajectory_view(tid, tracks, shown.interventions[tid])
        for tid, tracks in sorted(shown.trajectories.items())
    ]
    goals = await repos.goals.of_person(person)
    profile = await repos.profiles.get(person)
    return {
        "measurements": [_measurement(tid, stored) for tid, stored in measurements],
        "trajectories": trajectories,
        "interventions": [intervention_view(i) for i in interventions],
        "profile": None
        if profile is None
        else {
            "neighbourhood": profile.neighbourhood_code,
            "age_band": profile.age_band,
            "household_type": profile.household_type,
        },
        "consents": await repos.consents.sharing(person),
        "counts": {
            "measurements": len(measurements),
            "trajectories": len(trajectories),
            "goals": sum(len(g) for g in goals.values()),
            "interventions": len(interventions),
            "profiles": 0 if profile is None else 1,
        },
    }


class Export:
    """The consumer of `person_export_requested`."""

    def __init__(
        self, runtime: ServiceRuntime, *, repositories: RepositoryFactory = MotorRepositories
    ) -> None:
        self.runtime = runtime  # the shared contract stores the part through its JetStream
        self.repositories = repositories

    async def __call__(self, envelope: Envelope[PersonExportRequested], delivery: Delivery) -> bool:
        tenant = envelope.tenant

        async def part(db: Db, person: str) -> dict[str, Any]:
            return await build(self.repositories(db, None, tenant), person)

        return await export.contribute(
            self.runtime, envelope, delivery, build=part, answer=EffectsPersonDataExported
        )
