"""Identity's events: erasure requests and new tenants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from wijkkracht_common import consent, privacy_scan
from wijkkracht_common.events.effect_measurement import FollowupDue
from wijkkracht_common.events.identity import (
    ConsentGranted,
    PersonErasureRequested,
    TenantCreated,
)
from wijkkracht_common.testing.plugin import drop_tenant_databases

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def residue(mongo_url: str, tenant: str, person_id: str) -> list[Any]:
    """What the privacy scan still finds of the person in this service's database."""
    found = await privacy_scan.scan_databases(mongo_url, tenant, person_id)
    return [r for r in found if r.database.startswith("wk_questionnaires_")]


async def test_erasure_leaves_nothing_and_late_events_nothing_either(
    qs: Any, mongo_url: str, eventually_: Any
) -> None:
    tenant = qs.tenants.a
    person = str(uuid.uuid4())
    resident = qs.resident(person)
    pro = qs.professional(org="de-smd")
    done = await qs.fill_and_submit(
        {**resident, "Idempotency-Key": "start-1"}, "client-satisfaction"
    )
    await qs.start(resident, "health-short")  # in progress
    invited = await qs.client.post(
        f"{P}/invitations",
        json={"organisation": "de-smd", "instrument_id": "health-short", "person_id": person},
        headers={**pro, "Idempotency-Key": "invite-1"},
    )
    assert invited.status_code == 201
    await qs.publish(
        ConsentGranted(person_id=person, organisation_slug="de-smd", purpose="share_results"),
        subject=person,
    )
    db = await qs.app.state.ctx.db(tenant)

    async def consent_known() -> bool:
        return await consent.consent_given(db, person, "de-smd", "share_results")

    await eventually_(consent_known)
    seen = await qs.client.get(f"{P}/responses/{done['id']}", headers=pro)
    assert seen.status_code == 200  # access-logged
    assert await residue(mongo_url, tenant, person)  # the scan does find the person before

    await qs.publish(PersonErasureRequested(person_id=person), subject=person)
    erased = (await qs.wait_events("person_data_erased"))[0]["data"]
    assert erased["person_id"] == person
    assert erased["erased"] == {
        "responses": 1,
        "responses_in_progress": 1,
        "shares": 1,
        "invitations": 1,
        "mails": 0,
        "consents": 1,
        "request_replays": 2,
    }
    # The invitation and the view were access-logged.
    assert erased["anonymised"] == {"access_log": 2, "staff_records": 0}

    async def clean() -> bool:
        return not await residue(mongo_url, tenant, person)

    await eventually_(clean)
    assert await db["responses"].find_one({"_id": done["id"]}) is None  # deleted, not nulled
    kept = await db["access_log"].find({"on_behalf_of": "de-smd"}).to_list(None)
    # The log keeps its retention, unlinked.
    assert sorted(e["resource"] for e in kept) == ["invitation/erased", "response/erased"]
    assert (await qs.client.get(f"{P}/responses", headers=resident)).json()["items"] == []

    # Late events about the person leave nothing behind.
    await qs.publish(
        ConsentGranted(
            person_id=person, organisation_slug="de-smd", purpose="share_results", version=9
        ),
        subject=person,
    )
    await qs.publish(
        FollowupDue(
            trajectory_id="traj-late",
            person_id=person,
            instrument_id="effect-monitor",
            family="effect-monitor",
            sequence=1,
            due_at=datetime.now(UTC),
        ),
        organisation="de-smd",
        subject="traj-late",
    )

    async def drained() -> bool:
        for stream, durable in (
            ("IDENTITY", "questionnaires__identity_consent_granted_v1"),
            ("EFFECT_MEASUREMENT", "questionnaires__effect_measurement_followup_due_v1"),
        ):
            info = await qs.consumer_info(durable, stream)
            if info.num_pending or info.num_ack_pending:
                return False
        return True

    await eventually_(drained)
    assert not await residue(mongo_url, tenant, person)
    assert not await consent.consent_given(db, person, "de-smd", "share_results")

    # A repeated request (identity asks again) is answered, with nothing left to erase.
    await qs.publish(PersonErasureRequested(person_id=person), subject=person)
    answers = await qs.wait_events("person_data_erased", count=2)
    assert answers[1]["data"]["erased"]["responses"] == 0


@pytest.fixture
def new_tenant(mongo_url: str, unique: str) -> Iterator[str]:
    """A tenant slug the test creates through `tenant_created`; its databases are dropped
    afterwards, also when the test fails (nx-27017 keeps at most 100 databases open).
    Request it before `qs`, so the app has stopped when they are dropped."""
    tenant = f"nieuw-{unique}"
    yield tenant
    drop_tenant_databases(mongo_url, [tenant])


async def test_tenant_created_enables_anonymous_use(
    new_tenant: str, qs: Any, eventually_: Any
) -> None:
    tenant = new_tenant
    r = await qs.client.post(
        f"{P}/tenants/{tenant}/anonymous-responses", json={"instrument_id": "health-short"}
    )
    assert r.status_code == 404
    await qs.publish(TenantCreated(tenant_slug=tenant), tenant="platform")

    async def accepted() -> bool:
        r = await qs.client.post(
            f"{P}/tenants/{tenant}/anonymous-responses", json={"instrument_id": "health-short"}
        )
        return r.status_code == 201

    await eventually_(accepted)
    published = await qs.wait_events("instrument_published", count=10, tenant=tenant)
    assert len(published) == 10
