"""The shared consent projection: every service keeps the newest state, whatever order the
events arrive in, and drops consent events about an erased person."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from wijkkracht_common import consent, erasure
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import ConsentGranted, ConsentRevoked
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def change(
    tenant: str, granted: bool, version: int, *, at: datetime = T0, person: str = "p1"
) -> Envelope[Any]:
    cls = ConsentGranted if granted else ConsentRevoked
    data = cls(
        person_id=person, organisation_slug="welzijn", purpose="share_results", version=version
    )
    return new_event(data, tenant=tenant, subject=person, time=at)


@pytest.fixture
async def runtime(mongo_url: str, nats_url: str) -> AsyncIterator[ServiceRuntime]:
    name = f"consenttest{uuid.uuid4().hex[:6]}"
    settings = BaseServiceSettings(
        service_name=name,
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        log_level="WARNING",
        outbox_poll_seconds=0.1,
    )
    rt = ServiceRuntime(settings)
    consent.register_consent_projection(rt, consumer_service=name)
    async with rt.lifespan():
        yield rt


async def test_a_late_or_repeated_event_never_undoes_a_newer_state(mongo_url: str) -> None:
    settings = BaseServiceSettings(service_name="consentorder", mongo_url=mongo_url, env="test")
    rt = ServiceRuntime(settings, run_relay=False)
    tenant = f"co-{uuid.uuid4().hex[:6]}"
    db = await rt.storage.tenant_db(tenant)
    grant1, revoke2, grant3 = (
        consent.state_of(change(tenant, g, v)) for g, v in ((True, 1), (False, 2), (True, 3))
    )
    for state in (grant1, grant3, revoke2, grant1):  # v2 and v1 arrive late, v1 twice
        await consent.apply_change(db, state, session=None)
    assert await consent.consent_given(db, "p1", "welzijn", "share_results")
    # Events without a version (0) are ordered by their time.
    older = consent.state_of(change(tenant, False, 0, at=T0 - timedelta(days=1), person="p2"))
    newer = consent.state_of(change(tenant, True, 0, at=T0, person="p2"))
    await consent.apply_change(db, newer, session=None)
    assert not await consent.apply_change(db, older, session=None)
    assert await consent.organisations_with_consent(db, "p2", "share_results") == ["welzijn"]
    assert await consent.persons_with_consent(db, "welzijn", "share_results") == ["p1", "p2"]
    await rt.storage.drop_tenant(tenant)
    rt.storage.close()


async def test_consent_events_through_nats_and_none_after_erasure(
    runtime: ServiceRuntime, nats_url: str
) -> None:
    tenant = f"cn-{uuid.uuid4().hex[:6]}"
    db = await runtime.storage.tenant_db(tenant)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()

    async def publish(envelope: Envelope[Any]) -> None:
        await js.publish(
            envelope.nats_subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id},
        )

    try:
        await publish(change(tenant, True, 1))
        await publish(change(tenant, False, 2))
        await publish(change(tenant, True, 3))

        async def granted_v3() -> bool:
            doc = await db[consent.CONSENT_STATES].find_one({"_id": "p1|welzijn|share_results"})
            return doc is not None and doc["version"] == 3

        await eventually(granted_v3)
        assert await consent.consent_given(db, "p1", "welzijn", "share_results")

        await consent.forget_person(db, "p1", session=None)
        await erasure.remember_erased(db, tenant, "p1", session=None)
        late = change(tenant, True, 4)
        await publish(late)
        witness = change(tenant, True, 1, person="p-witness")
        await publish(witness)  # applied after the late one: the late one was handled

        async def witness_applied() -> bool:
            return await consent.consent_given(db, "p-witness", "welzijn", "share_results")

        await eventually(witness_applied)
        assert await db[consent.CONSENT_STATES].count_documents({"person_id": "p1"}) == 0
    finally:
        await nc.drain()
        await runtime.storage.drop_tenant(tenant)
