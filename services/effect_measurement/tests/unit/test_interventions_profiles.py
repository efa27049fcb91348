from __future__ import annotations

import itertools
from dataclasses import astuple
from datetime import UTC, datetime

from effect_measurement.domain.inputs import InterventionInput, PersonProfileInput
from effect_measurement.domain.interventions import (
    NO_INTERVENTION,
    intervention_types_between,
    link_interventions,
)
from effect_measurement.domain.profiles import (
    UNKNOWN,
    apply_person_profile_updated,
    apply_person_registered,
)
from effect_measurement.domain.trajectories import build_trajectories
from em_builders import at, matrix


def event(ident: str, kind: str, when: datetime, person: str = "p1") -> InterventionInput:
    return InterventionInput(intervention_id=ident, person_id=person, type=kind, occurred_at=when)


def test_interventions_fall_in_the_window_between_measurements() -> None:
    (trajectory,) = build_trajectories(
        [matrix("r1", at(2026, 1), {"finances": 2}), matrix("r2", at(2026, 4), {"finances": 3})]
    ).values()
    events = [
        event("e0", "help_matched", at(2025, 12)),  # before baseline: no window
        event("e1", "learning_path_completed", at(2026, 2)),
        event("e1", "learning_path_completed", at(2026, 2)),  # redelivered
        event("e2", "social_map_referral", at(2026, 5)),
        event("e3", "help_matched", at(2026, 2), person="someone-else"),
    ]
    first, second = link_interventions(trajectory, events)
    assert [i.intervention_id for i in first.interventions] == ["e1"]
    assert first.end == at(2026, 4)
    assert second.end is None and [i.intervention_id for i in second.interventions] == ["e2"]
    assert intervention_types_between(events, "p1", at(2026, 3), at(2026, 4)) == {NO_INTERVENTION}


def test_profile_keeps_only_coarse_fields_and_patches() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    data = PersonProfileInput.model_validate(
        {
            "person_id": "p1",
            "birth_year": 1950,
            "neighbourhood_code": "wijk-02",
            "display_name": "Piet",
            "pc4": "1500",
        }
    )
    profile = apply_person_registered(data, now)
    assert (profile.age_band, profile.neighbourhood_code, profile.household_type) == (
        "65-79",
        "wijk-02",
        UNKNOWN,
    )
    assert not any("Piet" in str(v) or "1500" in str(v) for v in astuple(profile))
    updated = apply_person_profile_updated(
        profile, PersonProfileInput(person_id="p1", household_type="single"), now
    )
    assert (updated.age_band, updated.household_type) == ("65-79", "single")
    moved = apply_person_profile_updated(
        updated, PersonProfileInput(person_id="p1", neighbourhood_code=None), now
    )
    assert moved.neighbourhood_code == UNKNOWN


def test_profile_events_in_any_order_end_in_the_same_profile() -> None:
    """Redelivered or applied by two replicas at once, identity's events may arrive in any
    order; each field keeps the value of the newest event that set it."""
    t1, t2, t3 = (datetime(2026, 6, day, tzinfo=UTC) for day in (1, 2, 3))
    registered = PersonProfileInput(person_id="p1", neighbourhood_code="wijk-01", birth_year=1990)
    moved = PersonProfileInput(person_id="p1", neighbourhood_code="wijk-02")
    household = PersonProfileInput(person_id="p1", household_type="single")
    steps = [
        lambda p: apply_person_registered(registered, t1, p),
        lambda p: apply_person_profile_updated(p, moved, t2),
        lambda p: apply_person_profile_updated(p, household, t3),
    ]
    results = set()
    for order in itertools.permutations(steps):
        profile = None
        for step in order:
            profile = step(profile)
        assert profile is not None
        results.add((profile.neighbourhood_code, profile.age_band, profile.household_type))
    assert results == {("wijk-02", "27-44", "single")}
