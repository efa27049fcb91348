"""Outbox events on the IDENTITY stream, consent, profile, erasure, access-log projection."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
import pytest
from identity.domain.roles import Role
from nats.js.api import ConsumerConfig, DeliverPolicy
from wijkkracht_common.access_log import record_access
from wijkkracht_common.auth import Principal
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import App

pytestmark = pytest.mark.integration

P = "/identity/v1"


async def stream_events(
    nats_url: str, subject: str, *, expect: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """All messages on `subject`; waits (bounded) until at least `expect` arrived, then
    drains a little longer so duplicates would show up too."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=5)
        )
        seen: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_rounds = 0
        while loop.time() < deadline and (len(seen) < expect or quiet_rounds < 2):
            try:
                batch = await sub.fetch(100, timeout=0.5)
            except TimeoutError:
                quiet_rounds += 1
                continue
            for msg in batch:
                seen.append(json.loads(msg.data))
                await msg.ack()
        await sub.unsubscribe()
        return seen
    finally:
        await nc.drain()


async def test_registration_publishes_person_registered_exactly_once(
    identity: App, two_tenants: TwoTenants, nats_url: str
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    from .oauth_helpers import public_client

    client = await public_client(identity, t)
    body = {
        "client_id": client.client_id,
        "display_name": "Ina",
        "email": "ina@a.test",
        "password": "een-lang-wachtwoord",
        "pc4": "1234",
        "birth_year": 1950,
    }
    headers = {"Idempotency-Key": "reg-1"}
    first = await identity.http.post(f"{P}/registrations", json=body, headers=headers)
    assert first.status_code == 201, first.text
    retry = await identity.http.post(f"{P}/registrations", json=body, headers=headers)
    assert retry.json() == first.json()
    duplicate = await identity.http.post(f"{P}/registrations", json=body)
    assert duplicate.status_code == 409

    events = await stream_events(nats_url, f"wk.{t}.identity.person_registered.v1", expect=1)
    assert len(events) == 1
    data = events[0]["data"]
    assert data["person_id"] == first.json()["id"] and data["pc4"] == "1234"
    assert data["age_band"] in ("65-79", "80+")
    assert "email" not in json.dumps(events[0]) and "Ina" not in json.dumps(events[0])
    assert events[0]["type"] == "nl.wijkkracht.identity.person_registered.v1"


async def test_consent_profile_and_erasure_events(
    identity: App, two_tenants: TwoTenants, nats_url: str
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    csv = "code,name,lat,lon,postcodes\nN1,Noord,52.1,4.1,1234 1235\nN2,Zuid,52.0,4.0,1236\n"
    admin = await identity.person(t, "admin@a.test", {"welzijn": [Role.TENANT_ADMIN]})
    imported = await identity.http.put(
        f"{P}/neighbourhoods", content=csv.encode(), headers=await identity.headers_for(t, admin)
    )
    assert imported.status_code == 200 and imported.json()["count"] == 2
    resident = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    headers = await identity.headers_for(t, resident)

    grant = await identity.http.post(
        f"{P}/me/consents",
        headers=headers,
        json={"organisation": "welzijn", "purpose": "share_results"},
    )
    assert grant.status_code == 201
    again = await identity.http.post(
        f"{P}/me/consents",
        headers=headers,
        json={"organisation": "welzijn", "purpose": "share_results"},
    )
    assert again.status_code == 200  # no change, no second event
    unknown_org = await identity.http.post(
        f"{P}/me/consents", headers=headers, json={"organisation": "nope", "purpose": "research"}
    )
    assert unknown_org.status_code == 404
    revoke = await identity.http.delete(f"{P}/me/consents/welzijn/share_results", headers=headers)
    body = revoke.json()
    assert body["current"] == []
    assert [h["action"] for h in body["history"]] == ["revoked", "granted"]

    patched = await identity.http.patch(
        f"{P}/me", headers=headers, json={"pc4": "1236", "household_type": "single"}
    )
    assert patched.json()["neighbourhood_code"] == "N2"
    same = await identity.http.patch(f"{P}/me", headers=headers, json={"pc4": "1236"})
    assert same.status_code == 200
    bad = await identity.http.patch(f"{P}/me", headers=headers, json={"pc4": "1234AB"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "pc4"

    erasure = await identity.http.post(f"{P}/me/erasure", headers=headers)
    assert erasure.status_code == 202
    assert (await identity.http.post(f"{P}/me/erasure", headers=headers)).status_code == 409
    assert "erasure_requested_at" in (await identity.http.get(f"{P}/me", headers=headers)).json()

    granted = await stream_events(nats_url, f"wk.{t}.identity.consent_granted.v1", expect=1)
    revoked = await stream_events(nats_url, f"wk.{t}.identity.consent_revoked.v1", expect=1)
    assert [e["data"]["purpose"] for e in granted] == ["share_results"]
    assert [e["data"]["organisation_slug"] for e in revoked] == ["welzijn"]
    profile = await stream_events(nats_url, f"wk.{t}.identity.person_profile_updated.v1", expect=1)
    assert len(profile) == 1
    assert profile[0]["data"]["neighbourhood_code"] == "N2"
    assert profile[0]["data"]["household_type"] == "single"
    erased = await stream_events(nats_url, f"wk.{t}.identity.person_erasure_requested.v1", expect=1)
    assert [e["subject"] for e in erased] == [resident]
    hoods = await stream_events(nats_url, f"wk.{t}.identity.neighbourhoods_imported.v1", expect=1)
    assert [n["code"] for n in hoods[0]["data"]["neighbourhoods"]] == ["N1", "N2"]


async def test_access_log_projection_from_access_recorded_events(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    admin = await identity.person(t, "admin@a.test", {"welzijn": [Role.TENANT_ADMIN]})
    resident = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]})
    # Another service records an access (through its own outbox; here: identity's relay).
    db = await identity.ctx.tenant_db(t)
    professional = Principal(subject="pro-1", tenant=t, client_id="qs.app")
    await record_access(
        db,
        service="questionnaires",
        principal=professional,
        resident=resident,
        action="read",
        resource="response/r-1",
        reason="share_results",
    )
    # A staff read inside identity is logged too.
    read = await identity.http.get(
        f"{P}/people/{resident}", headers=await identity.headers_for(t, admin)
    )
    assert read.status_code == 200
    identity.ctx.runtime.notify_relay()

    headers = await identity.headers_for(t, resident)
    items: list[dict[str, Any]] = []
    for _ in range(100):
        items = (await identity.http.get(f"{P}/me/access-log", headers=headers)).json()["items"]
        if len(items) >= 2:
            break
        await asyncio.sleep(0.1)
    assert {(i["service"], i["actor"], i["resource"]) for i in items} == {
        ("questionnaires", "pro-1", "response/r-1"),
        ("identity", admin, f"person/{resident}"),
    }
    # Other residents do not see it.
    other = await identity.person(t, "other@a.test", {"welzijn": [Role.RESIDENT]})
    theirs = await identity.http.get(
        f"{P}/me/access-log", headers=await identity.headers_for(t, other)
    )
    assert theirs.json()["items"] == []
