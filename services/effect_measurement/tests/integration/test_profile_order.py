"""The profile projection ends the same whatever order identity's events arrive in
(redelivered, or applied by two replicas at once): each field is ordered by the event's time,
and the times are stored so that a later event still finds them (issue 11)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Harness, event, wait_for
from effect_measurement.adapters.documents import profile_from_document
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import PersonProfileUpdated, PersonRegistered
from wijkkracht_common.storage import stored_datetime

pytestmark = pytest.mark.integration


def at(day: int) -> datetime:
    return datetime(2026, 3, day, tzinfo=UTC)


async def test_older_profile_events_arriving_late_do_not_undo_newer_ones(
    harness: Harness, two_tenants: Any
) -> None:
    tenant = two_tenants.a
    db = await harness.db(tenant)
    # Identity sends the whole coarse profile each time.
    registered = event(
        PersonRegistered(person_id="p-order", neighbourhood_code="wijk-01", age_band="27-44"),
        tenant,
    ).model_copy(update={"time": at(1)})
    moved = event(
        PersonProfileUpdated(person_id="p-order", neighbourhood_code="wijk-02", age_band="27-44"),
        tenant,
    ).model_copy(update={"time": at(2)})
    single = event(
        PersonProfileUpdated(
            person_id="p-order",
            neighbourhood_code="wijk-02",
            age_band="27-44",
            household_type="single",
        ),
        tenant,
    ).model_copy(update={"time": at(3)})

    async def applied(envelope: Envelope[Any]) -> None:
        await harness.publish(envelope)

        async def saved() -> bool:
            doc = await db.profiles.find_one({"_id": "p-order"})
            return doc is not None and stored_datetime(doc["updated_at"]) == envelope.time

        await wait_for(saved)

    for envelope in (single, registered, moved):  # newest first
        await applied(envelope)
    profile = profile_from_document(await db.profiles.find_one({"_id": "p-order"}))
    assert (profile.neighbourhood_code, profile.age_band, profile.household_type) == (
        "wijk-02",
        "27-44",
        "single",
    )
    assert set(profile.changed_at.values()) == {at(3)}
