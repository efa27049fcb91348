"""Seeded synthetic residents, measurements and interventions (no real people, no I/O).

The neighbourhood codes are placeholders the wiring phase maps to the demo tenant's table.
The same seed always gives the same data; ``stream_measurements`` yields lazily, so a
benchmark can draw 1,000,000 measurements without holding them in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from effect_measurement.domain.followups import add_months
from effect_measurement.domain.inputs import InstrumentKind, InterventionInput, MeasurementInput
from effect_measurement.domain.profiles import AGE_BANDS, HOUSEHOLD_TYPES, Profile
from effect_measurement.domain.trajectories import StoredMeasurement, snapshot

NEIGHBOURHOODS: tuple[str, ...] = ("wijk-01", "wijk-02", "wijk-03", "wijk-04", "wijk-05")
DEMO_ORGANISATIONS: tuple[str, ...] = ("demo-welzijn", "demo-wijkteam")
MATRIX_FAMILY = "zelfredzaamheidsmatrix"
MONITOR_FAMILY = "effectenmonitor"
MATRIX_DOMAINS: tuple[str, ...] = (
    "finances",
    "work_education",
    "time_use",
    "housing",
    "domestic_relations",
    "mental_health",
    "physical_health",
    "substance_use",
    "basic_adl",
    "instrumental_adl",
    "social_network",
    "social_participation",
    "justice",
)
MONITOR_THEMES: tuple[str, ...] = ("informal_care", "relationship", "household_budget")
INTERVENTION_TYPES: tuple[str, ...] = (
    "learning_path_completed",
    "help_matched",
    "social_map_referral",
)
DEMO_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemoData:
    profiles: tuple[Profile, ...]
    measurements: tuple[StoredMeasurement, ...]
    interventions: tuple[InterventionInput, ...]


def _profile(rng: random.Random, person_id: str) -> Profile:
    return Profile(
        person_id,
        rng.choice(NEIGHBOURHOODS),
        rng.choices(AGE_BANDS[1:], weights=(2, 3, 3, 2, 1))[0],
        rng.choice(HOUSEHOLD_TYPES),
    )


def _move(rng: random.Random, value: int, helped: bool) -> int:
    # Plausible effect: most people stay or move up one step; help makes moving up likelier.
    up = 0.55 if helped else 0.4
    roll = rng.random()
    step = (2 if rng.random() < 0.15 else 1) if roll < up else (-1 if roll > 0.88 else 0)
    return min(5, max(1, value + step))


def _resident(
    rng: random.Random, number: int, start: datetime
) -> tuple[Profile, list[MeasurementInput], list[InterventionInput]]:
    person = f"demo-person-{number:07d}"
    profile = _profile(rng, person)
    organisation = DEMO_ORGANISATIONS[number % len(DEMO_ORGANISATIONS)]
    baseline_at = start + timedelta(days=rng.randrange(0, 330), hours=rng.randrange(0, 8))
    follow_ups = rng.choices((0, 1, 2, 3), weights=(2, 4, 3, 1))[0]
    matrix = rng.random() < 0.6
    themes = rng.sample(MONITOR_THEMES, rng.randint(1, 2))
    values = (
        {d: rng.choices((1, 2, 3, 4, 5), weights=(1, 3, 4, 3, 1))[0] for d in MATRIX_DOMAINS}
        if matrix
        else {t: rng.choices((1, 2, 3, 4, 5), weights=(3, 4, 3, 1, 1))[0] for t in themes}
    )
    measurements: list[MeasurementInput] = []
    interventions: list[InterventionInput] = []
    at = baseline_at
    for sequence in range(follow_ups + 1):
        helped = False
        if sequence:
            previous = at
            at = add_months(previous, 3) + timedelta(days=rng.randrange(-10, 25))
            for kind in INTERVENTION_TYPES:
                if rng.random() < 0.35:
                    helped = True
                    interventions.append(
                        InterventionInput(
                            intervention_id=f"{person}-{sequence}-{kind}",
                            person_id=person,
                            type=kind,
                            occurred_at=previous + (at - previous) / 2,
                            organisation=organisation,
                        )
                    )
            values = {code: _move(rng, value, helped) for code, value in values.items()}
        measurements.append(
            MeasurementInput(
                response_id=f"{person}-r{sequence}",
                person_id=person,
                organisation=organisation,
                instrument_id=MATRIX_FAMILY + "-v1" if matrix else MONITOR_FAMILY + "-v1",
                family=MATRIX_FAMILY if matrix else MONITOR_FAMILY,
                kind=InstrumentKind.MEASUREMENT,
                submitted_at=at,
                levels=dict(values) if matrix else {},
                phases={} if matrix else dict(values),
            )
        )
    return profile, measurements, interventions


def generate_demo(seed: int = 2026, residents: int = 400, start: datetime = DEMO_START) -> DemoData:
    """The demo tenant's data: residents over 5 neighbourhoods and 2 organisations."""
    rng = random.Random(seed)
    profiles: list[Profile] = []
    stored: list[StoredMeasurement] = []
    events: list[InterventionInput] = []
    for number in range(residents):
        profile, measurements, interventions = _resident(rng, number, start)
        profiles.append(profile)
        stored += [snapshot(m, profile) for m in measurements]
        events += interventions
    return DemoData(tuple(profiles), tuple(stored), tuple(events))


def stream_measurements(
    count: int, seed: int = 2026, start: datetime = DEMO_START
) -> Iterator[StoredMeasurement]:
    """Exactly ``count`` measurements, resident by resident (a person's points stay together)."""
    rng = random.Random(seed)
    produced = 0
    number = 0
    while produced < count:
        profile, measurements, _ = _resident(rng, number, start)
        number += 1
        for measurement in measurements[: count - produced]:
            yield snapshot(measurement, profile)
            produced += 1
