"""Consent through the platform's one projection (`wijkkracht_common.consent`): identity's
events ordered by the consent's own version, and the former projection moved into it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from questionnaires.adapters import legacy_consents
from wijkkracht_common import consent, erasure
from wijkkracht_common.consent import CONSENT_STATES
from wijkkracht_common.events.identity import ConsentGranted, ConsentRevoked

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def test_a_late_revocation_does_not_undo_a_newer_grant(qs: Any, eventually_: Any) -> None:
    resident = qs.resident("person-c1")
    pro = qs.professional("person-p1", org="de-smd")
    done = await qs.fill_and_submit(resident, "health-short")
    url = f"{P}/responses/{done['id']}"
    await qs.publish(
        ConsentGranted(
            person_id="person-c1", organisation_slug="de-smd", purpose="share_results", version=3
        )
    )

    async def visible() -> bool:
        return (await qs.client.get(url, headers=pro)).status_code == 200

    await eventually_(visible)
    # Version 2 (recorded before the grant) arrives late: it changes nothing.
    await qs.publish(
        ConsentRevoked(
            person_id="person-c1", organisation_slug="de-smd", purpose="share_results", version=2
        )
    )
    db = await qs.app.state.ctx.db(qs.tenants.a)

    async def stored_version() -> int:
        doc = await db[CONSENT_STATES].find_one({"person_id": "person-c1"})
        return int(doc["version"]) if doc else 0

    async def late_one_seen() -> bool:
        info = await qs.consumer_info("questionnaires__identity_consent_revoked_v1")
        return info.num_pending == 0 and info.num_ack_pending == 0

    await eventually_(late_one_seen)
    assert await stored_version() == 3
    assert (await qs.client.get(url, headers=pro)).status_code == 200
    await qs.publish(
        ConsentRevoked(
            person_id="person-c1", organisation_slug="de-smd", purpose="share_results", version=4
        )
    )

    async def hidden() -> bool:
        return (await qs.client.get(url, headers=pro)).status_code == 404

    await eventually_(hidden)


async def test_the_former_projection_is_moved_once(qs: Any) -> None:
    tenant = qs.tenants.a
    runtime = qs.app.state.runtime
    db = await runtime.storage.tenant_db(tenant)
    at = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    await db[legacy_consents.LEGACY_CONSENTS].insert_many(
        [
            {
                "_id": "person-m1:de-smd:share_results",
                "person_id": "person-m1",
                "organisation": "de-smd",
                "purpose": "share_results",
                "state": "granted",
                "at": at,
            },
            {
                "_id": "person-m1:wijkteam:share_results",
                "person_id": "person-m1",
                "organisation": "wijkteam",
                "purpose": "share_results",
                "state": "revoked",
                "at": at + timedelta(days=1),
            },
            {
                "_id": "person-gone:de-smd:share_results",
                "person_id": "person-gone",
                "organisation": "de-smd",
                "purpose": "share_results",
                "state": "granted",
                "at": at,
            },
        ]
    )
    await erasure.remember_erased(db, tenant, "person-gone", session=None)

    assert await legacy_consents.migrate_tenant(runtime, tenant) == 2
    assert await consent.organisations_with_consent(db, "person-m1", "share_results") == ["de-smd"]
    assert not await consent.consent_given(db, "person-gone", "de-smd", "share_results")
    assert legacy_consents.LEGACY_CONSENTS not in await db.list_collection_names()
    assert await legacy_consents.migrate_tenant(runtime, tenant) == 0  # nothing left to move
    # The tenant's other database is untouched.
    assert await legacy_consents.migrate_tenant(runtime, qs.tenants.b) == 0
