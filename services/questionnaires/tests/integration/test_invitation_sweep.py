"""The periodic invitation task: overdue invitations are expired, invitations not started
get one automatic reminder `invitation_reminder_days` before the due date. The task function
is called with an explicit `now` (no waiting for the clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from questionnaires.main import create_app
from questionnaires.service import invitations
from questionnaires.settings import Settings
from wijkkracht_common.testing.issuer import TestIssuer

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def _invite(qs: Any, due: datetime | None, **who: str) -> dict[str, Any]:
    body: dict[str, Any] = {"organisation": "de-smd", "instrument_id": "health-short", **who}
    if due is not None:
        body["due_at"] = due.isoformat()
    r = await qs.client.post(f"{P}/invitations", json=body, headers=qs.professional())
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_sweep_expires_and_reminds_once(qs: Any, unique: str, eventually_: Any) -> None:
    ctx = qs.app.state.ctx
    assert ctx.settings.invitation_reminder_days == 3
    now = datetime.now(UTC)
    address = f"sweep-{unique}@example.org"
    by_mail = await _invite(qs, now + timedelta(days=10), email=address)
    by_account = await _invite(qs, now + timedelta(days=10), person_id="person-s1")
    started = await _invite(qs, now + timedelta(days=10), person_id="person-s2")
    await qs.start(qs.resident("person-s2"), "health-short", invitation_id=started["id"])
    soon = await _invite(qs, now + timedelta(days=2), person_id="person-s3")
    no_due = await _invite(qs, None, person_id="person-s4")

    async def first_mail() -> list[Any]:
        return list(qs.mail.to(address))

    await eventually_(first_mail)  # the invitation itself

    # Two days before the due date of the first three; `soon` is overdue by then.
    at = now + timedelta(days=8)
    tenants = [qs.tenants.a]
    assert await invitations.sweep(ctx, at, tenants) == {"expired": 1, "reminded": 2}
    assert await invitations.sweep(ctx, at, tenants) == {"expired": 0, "reminded": 0}
    assert await invitations.sweep(ctx, at + timedelta(hours=1), tenants) == {
        "expired": 0,
        "reminded": 0,
    }

    async def reminder() -> list[Any]:
        return [m for m in qs.mail.to(address) if "Herinnering" in str(m["Subject"])]

    mails = await eventually_(reminder)
    assert len(mails) == 1 and "Reminder" in str(mails[0]["Subject"])
    text = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert f"/tenants/{qs.tenants.a}/invitation-links/" in text

    pro = qs.professional()

    async def seen(inv: dict[str, Any]) -> dict[str, Any]:
        r = await qs.client.get(f"{P}/invitations/{inv['id']}", headers=pro)
        data: dict[str, Any] = r.json()
        return data

    assert (await seen(by_mail))["reminders_sent"] == 1
    assert (await seen(by_account))["reminders_sent"] == 1
    assert (await seen(started))["reminders_sent"] == 0  # started: no reminder
    assert (await seen(no_due))["reminders_sent"] == 0
    db = await ctx.db(qs.tenants.a)
    stored = {d["_id"]: d["status"] async for d in db["invitations"].find({})}
    assert stored[soon["id"]] == "expired"
    assert stored[by_account["id"]] == "sent" and stored[no_due["id"]] == "sent"

    # After the due date: everything still open is expired and stays so.
    later = now + timedelta(days=11)
    assert await invitations.sweep(ctx, later, tenants) == {"expired": 3, "reminded": 0}
    assert await invitations.sweep(ctx, later, tenants) == {"expired": 0, "reminded": 0}
    assert (await seen(started))["status"] == "expired"
    assert len(await reminder()) == 1


async def test_invitation_due_soon_after_sending_gets_no_automatic_reminder(qs: Any) -> None:
    ctx = qs.app.state.ctx
    now = datetime.now(UTC)
    inv = await _invite(qs, now + timedelta(days=1), person_id="person-s5")
    at = now + timedelta(hours=1)
    assert await invitations.sweep(ctx, at, [qs.tenants.a]) == {"expired": 0, "reminded": 0}
    r = await qs.client.get(f"{P}/invitations/{inv['id']}", headers=qs.professional())
    assert r.json()["reminders_sent"] == 0 and r.json()["status"] == "sent"


async def test_lifespan_runs_the_sweep(
    settings: Settings, test_issuer: TestIssuer, two_tenants: Any, eventually_: Any
) -> None:
    app = create_app(
        settings.model_copy(update={"invitation_sweep_seconds": 0.2}),
        verifier=test_issuer.verifier(),
    )
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client,
    ):
        headers = test_issuer.headers(
            sub="person-p1", tenant=two_tenants.a, orgs={"de-smd": ["professional"]}
        )
        r = await client.post(
            f"{P}/invitations",
            json={
                "organisation": "de-smd",
                "instrument_id": "health-short",
                "person_id": "person-s6",
            },
            headers=headers,
        )
        assert r.status_code == 201
        db = await app.state.ctx.db(two_tenants.a)
        # Overdue: written with replace_one so `due_at` keeps its date-time type.
        doc = await db["invitations"].find_one({"_id": r.json()["id"]})
        doc["due_at"] = datetime.now(UTC) - timedelta(minutes=1)
        await db["invitations"].replace_one({"_id": doc["_id"]}, doc)

        async def expired() -> bool:
            found = await db["invitations"].find_one({"_id": doc["_id"]})
            return found is not None and found["status"] == "expired"

        assert await eventually_(expired)
