"""Identity's events: erasure requests and new tenants."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from wijkkracht_common import consent
from wijkkracht_common.events.identity import (
    ConsentGranted,
    PersonErasureRequested,
    TenantCreated,
)
from wijkkracht_common.testing.plugin import drop_tenant_databases

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def test_erasure_publishes_counts(qs: Any, eventually_: Any) -> None:
    resident = qs.resident("person-e1")
    done = await qs.fill_and_submit(resident, "client-satisfaction")
    await qs.start(resident, "health-short")  # in progress
    pro = qs.professional(org="de-smd")
    await qs.client.post(
        f"{P}/invitations",
        json={"organisation": "de-smd", "instrument_id": "health-short", "person_id": "person-e1"},
        headers=pro,
    )
    await qs.publish(
        ConsentGranted(person_id="person-e1", organisation_slug="de-smd", purpose="share_results")
    )
    db = await qs.app.state.ctx.db(qs.tenants.a)

    async def consent_known() -> bool:
        return await consent.consent_given(db, "person-e1", "de-smd", "share_results")

    await eventually_(consent_known)
    event_id = await qs.publish(PersonErasureRequested(person_id="person-e1"))
    erased = (await qs.wait_events("person_data_erased"))[0]["data"]
    assert erased["person_id"] == "person-e1"
    assert erased["erased"] == {"responses_in_progress": 1, "invitations": 1, "consents": 1}
    assert erased["anonymised"] == {"responses": 1}
    kept = await db["responses"].find_one({"_id": done["id"]})
    assert kept["person_id"] is None and "prima" not in kept["body"]  # free text removed
    assert "person-e1" not in kept["body"]
    assert (await qs.client.get(f"{P}/responses", headers=resident)).json()["items"] == []
    # The same event again (redelivery) has no second effect.
    assert event_id
    await qs.publish(PersonErasureRequested(person_id="person-e1"))
    await qs.wait_events("person_data_erased", count=2)
    events = await qs.events("person_data_erased", settle=0.5)
    assert len(events) == 2  # a new request is a new event; its counts are zero
    assert events[1]["data"]["anonymised"] == {"responses": 0}


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
