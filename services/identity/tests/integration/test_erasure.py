"""Erasure across services with real events on NATS: identity asks, the producing services
confirm (`person_data_erased`), identity keeps the status and then erases its own data."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest
from identity.adapters import schema as c
from identity.adapters.repositories import MongoRepositories
from identity.domain.roles import Role
from identity.service.erasure import erasure_key
from wijkkracht_common.events.common import PersonDataErasedBase
from wijkkracht_common.events.effect_measurement import EffectsPersonDataErased
from wijkkracht_common.events.envelope import new_event, new_event_id
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataErased
from wijkkracht_common.events.social_map import SocialMapPersonDataErased
from wijkkracht_common.idempotency import IDEMPOTENCY
from wijkkracht_common.privacy_scan import scan_databases, scan_streams
from wijkkracht_common.testing.plugin import TwoTenants

from .conftest import App
from .oauth_helpers import A, authorization_code, exchange, login, public_client
from .privacy_helpers import purged
from .test_events_and_consent import stream_events

pytestmark = pytest.mark.integration

P = "/identity/v1"


async def publish(
    nats_url: str,
    tenant: str,
    data: PersonDataErasedBase,
    *,
    event_id: str | None = None,
    msg_id: str | None = None,
) -> str:
    """Publish like a producing service's outbox relay does."""
    envelope = new_event(data, tenant=tenant, subject=data.person_id, actor="system")
    if event_id is not None:
        envelope = envelope.model_copy(update={"id": event_id})
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            type(data).subject_for(tenant),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or envelope.id},
        )
    finally:
        await nc.drain()
    return envelope.id


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    """Poll until `check()` returns something truthy (bounded; never a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result or loop.time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def test_erasure_waits_for_every_service_then_erases_identity_data(
    identity: App, two_tenants: TwoTenants, nats_url: str
) -> None:
    t, other = two_tenants.a, two_tenants.b
    await identity.tenant(t)
    await identity.tenant(other)
    client = await public_client(identity, t)
    admin = await identity.person(t, "admin@a.test", {"welzijn": [Role.TENANT_ADMIN]})
    admin_h = await identity.headers_for(t, admin)
    resident = await identity.person(t, "res@a.test", {"welzijn": [Role.RESIDENT]}, pc4="1234")
    code, verifier = await authorization_code(identity, client.client_id, "res@a.test")
    tokens = (await exchange(identity.http, client.client_id, code, verifier)).json()
    me_h = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (
        await identity.http.post(
            f"{P}/me/consents",
            headers=me_h,
            json={"organisation": "welzijn", "purpose": "share_results"},
        )
    ).status_code == 201

    assert (await identity.http.get(f"{P}/me/erasure", headers=me_h)).status_code == 404
    # A stored idempotent response about the person (e.g. POST /people) holds personal data.
    db = await identity.ctx.tenant_db(t)
    await db[IDEMPOTENCY].insert_one(
        {
            "_id": "k:people:1",
            "state": "done",
            "status": 201,
            "body": {"id": resident, "email": "res@a.test"},
        }
    )
    assert (await identity.http.post(f"{P}/me/erasure", headers=me_h)).status_code == 202
    mine = (await identity.http.get(f"{P}/me/erasure", headers=me_h)).json()
    assert mine["status"] == "pending" and mine["confirmations"] == []
    assert mine["pending_services"] == ["effect_measurement", "questionnaires", "social_map"]

    # Only tenant admins of this tenant see it.
    assert (
        await identity.http.get(f"{P}/people/{resident}/erasure", headers=me_h)
    ).status_code == 403
    admin_b = await identity.person(other, "admin@b.test", {"welzijn": [Role.TENANT_ADMIN]})
    assert (
        await identity.http.get(
            f"{P}/people/{resident}/erasure", headers=(await identity.headers_for(other, admin_b))
        )
    ).status_code == 404

    async def view() -> dict[str, Any]:
        response = await identity.http.get(f"{P}/people/{resident}/erasure", headers=admin_h)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    q_id = await publish(
        nats_url,
        t,
        QuestionnairesPersonDataErased(
            person_id=resident, erased={"responses": 3, "invitations": 1}
        ),
    )
    await publish(
        nats_url,
        t,
        EffectsPersonDataErased(
            person_id=resident, erased={"measurements": 2}, anonymised={"aggregates": 1}
        ),
    )
    # A redelivered confirmation (same event id, past JetStream's de-duplication) is
    # applied once.
    await publish(
        nats_url,
        t,
        QuestionnairesPersonDataErased(
            person_id=resident, erased={"responses": 3, "invitations": 1}
        ),
        event_id=q_id,
        msg_id=new_event_id(),
    )

    async def two_confirmed() -> dict[str, Any] | None:
        body = await view()
        return body if len(body["confirmations"]) == 2 else None

    partial = await eventually(two_confirmed)
    assert partial is not None
    assert partial["status"] == "pending" and partial["pending_services"] == ["social_map"]
    by_service = {x["service"]: x for x in partial["confirmations"]}
    assert by_service["questionnaires"]["erased"] == {"responses": 3, "invitations": 1}
    assert by_service["effect_measurement"]["anonymised"] == {"aggregates": 1}
    # Identity's own data is still there until every service confirmed.
    assert (await identity.http.get(f"{P}/me", headers=me_h)).status_code == 200

    await publish(nats_url, t, SocialMapPersonDataErased(person_id=resident, erased={"reports": 1}))

    async def completed() -> dict[str, Any] | None:
        body = await view()
        return body if body["status"] == "purging" else None

    # Every service confirmed and identity's data is gone; the streams are cleaned next.
    done = await eventually(completed)
    assert done is not None and done["completed_at"] and done["pending_services"] == []
    assert [x["service"] for x in done["confirmations"]] == [
        "effect_measurement",
        "questionnaires",
        "social_map",
    ]

    # Identity's own data is deleted: the person, the e-mail claim, memberships, the consent
    # ledger, the stored response, tokens and codes.
    assert await db[IDEMPOTENCY].find_one({"_id": "k:people:1"}) is None
    assert await db[c.PEOPLE].find_one({"_id": resident}) is None
    assert await MongoRepositories(db).people.by_email("res@a.test") is None
    assert await MongoRepositories(db).memberships.of_person(resident) == []
    assert await db[c.CONSENTS].count_documents({}) == 0
    assert await db[c.REFRESH_TOKENS].count_documents({"subject": resident}) == 0
    assert await db[c.AUTH_CODES].count_documents({"subject": resident}) == 0

    # The account is gone: no /me, no status for the resident, refresh tokens revoked,
    # no login; the e-mail address may register again.
    assert (await identity.http.get(f"{P}/me", headers=me_h)).status_code in (401, 404)
    assert (await identity.http.get(f"{P}/me/erasure", headers=me_h)).status_code in (401, 404)
    refreshed = await identity.http.post(
        f"{A}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client.client_id,
        },
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    from .oauth_helpers import auth_params, pkce

    _, challenge = pkce()
    refused = await login(identity.http, auth_params(client.client_id, challenge), "res@a.test")
    assert refused.status_code == 401
    again = await identity.http.post(
        f"{P}/registrations",
        json={
            "client_id": client.client_id,
            "display_name": "Nieuw",
            "email": "res@a.test",
            "password": "een-lang-wachtwoord",
        },
    )
    assert again.status_code == 201 and again.json()["id"] != resident

    completed_events = await stream_events(
        nats_url, f"wk.{t}.identity.person_erasure_completed.v1", expect=1
    )
    assert [e["data"] for e in completed_events] == [
        {"person_id": resident, "services": ["effect_measurement", "questionnaires", "social_map"]}
    ]
    ended = await stream_events(nats_url, f"wk.{t}.identity.membership_changed.v1", expect=3)
    assert {"person_id": resident, "organisation_slug": "welzijn", "roles": []} in [
        e["data"] for e in ended
    ]

    # The stream purge removes every message that names the person, then forgets the id.
    assert await purged(identity.ctx)
    final = await view()
    assert final["status"] == "completed" and final["purged_at"]
    assert await scan_streams(identity.ctx.runtime.js, t, resident) == []
    prefix = f"wk_{identity.ctx.settings.service_name}_"
    residue = await scan_databases(identity.ctx.settings.mongo_url, t, resident)
    assert [r for r in residue if r.database.startswith(prefix)] == []


async def test_confirmation_nobody_asked_for_is_dead_lettered_and_expected_set_is_a_setting(
    settings_factory: Callable[..., Any], two_tenants: TwoTenants, nats_url: str
) -> None:
    import httpx
    from asgi_lifespan import LifespanManager
    from identity.main import create_app

    from .conftest import drop_databases

    settings = settings_factory(erasure_expected_services=["questionnaires"])
    app = create_app(settings)
    t = two_tenants.a
    try:
        async with (
            LifespanManager(app, startup_timeout=60),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://identity.test"
            ) as http,
        ):
            identity = App(app, http)
            await identity.tenant(t)
            resident = await identity.person(t, "r@a.test", {"welzijn": [Role.RESIDENT]})
            headers = await identity.headers_for(t, resident)
            stray = await publish(
                nats_url, t, QuestionnairesPersonDataErased(person_id="nobody", erased={})
            )
            dead = await stream_events(nats_url, f"dlq.{t}.>", expect=1)
            assert [d["reason"] for d in dead] == ["invalid"]
            assert stray in dead[0]["data"]

            assert (await http.post(f"{P}/me/erasure", headers=headers)).status_code == 202
            status = (await http.get(f"{P}/me/erasure", headers=headers)).json()
            assert status["expected_services"] == ["questionnaires"]
            await publish(
                nats_url,
                t,
                QuestionnairesPersonDataErased(person_id=resident, erased={"responses": 0}),
            )

            async def gone() -> bool:
                people = MongoRepositories(await identity.ctx.tenant_db(t)).people
                return await people.get(resident) is None

            assert await eventually(gone)
    finally:
        await drop_databases(settings)


async def test_an_erasure_a_service_never_confirms_is_requested_again(
    identity: App, two_tenants: TwoTenants, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from identity.service.erasure import REMINDER_ACTOR, remind_pending

    t = two_tenants.a
    await identity.tenant(t)
    client = await public_client(identity, t)
    resident = await identity.person(t, "late@a.test", {"welzijn": [Role.RESIDENT]})
    code, verifier = await authorization_code(identity, client.client_id, "late@a.test")
    tokens = (await exchange(identity.http, client.client_id, code, verifier)).json()
    me_h = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await identity.http.post(f"{P}/me/erasure", headers=me_h)).status_code == 202
    await publish(nats_url, t, QuestionnairesPersonDataErased(person_id=resident, erased={}))
    await publish(nats_url, t, EffectsPersonDataErased(person_id=resident, erased={}))
    db = await identity.ctx.tenant_db(t)

    async def two_confirmed() -> bool:
        status = await MongoRepositories(db).erasures.get(erasure_key(t, resident))
        return status is not None and len(status.confirmations) == 2

    assert await eventually(two_confirmed)
    assert await remind_pending(identity.ctx) == 0  # not overdue yet

    later = identity.ctx.now() + timedelta(hours=25)
    monkeypatch.setattr(identity.ctx, "now", lambda: later)
    assert await remind_pending(identity.ctx) == 1
    assert await remind_pending(identity.ctx) == 0  # asked again just now
    status = await MongoRepositories(db).erasures.get(erasure_key(t, resident))
    assert status is not None and status.reminders == 1 and status.last_asked_at is not None
    assert abs(status.last_asked_at - later) < timedelta(milliseconds=1)  # stored in ms
    assert status.pending_services == ("social_map",)
    mine_view = (await identity.http.get(f"{P}/me/erasure", headers=me_h)).json()
    assert mine_view["reminders"] == 1 and mine_view["pending_services"] == ["social_map"]

    subject = f"wk.{t}.identity.person_erasure_requested.v1"
    requests = await stream_events(nats_url, subject, expect=2)
    mine = [e for e in requests if e["data"]["person_id"] == resident]
    assert len(mine) == 2 and len({e["id"] for e in mine}) == 2  # a new event id: new work
    assert mine[-1]["actor"] == REMINDER_ACTOR

    # The service that was missing confirms after the reminder: the erasure completes.
    await publish(nats_url, t, SocialMapPersonDataErased(person_id=resident, erased={}))

    async def completed() -> bool:
        done = await MongoRepositories(db).erasures.get(erasure_key(t, resident))
        if done is None or not done.is_complete:
            return False
        subject = f"wk.{t}.identity.person_erasure_completed.v1"
        return bool(await stream_events(nats_url, subject, expect=1, timeout=1.0))

    # nx-27017 shows uncommitted writes: wait for the last one (outbox), not the status saved before
    assert await eventually(completed)
    monkeypatch.setattr(identity.ctx, "now", lambda: later + timedelta(hours=48))
    assert await remind_pending(identity.ctx) == 0  # complete: never again
