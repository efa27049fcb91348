"""Invitations: e-mail through the mail outbox, statuses, reminders, follow-ups from effect
measurement (measure -> act -> re-measure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wijkkracht_common.events.effect_measurement import FollowupDue

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def test_email_invitation_flow(qs: Any, eventually_: Any, unique: str) -> None:
    address = f"bewoner-{unique}@example.org"
    pro = qs.professional(org="de-smd")
    due = (datetime.now(UTC) + timedelta(days=14)).isoformat()
    r = await qs.client.post(
        f"{P}/invitations",
        json={
            "organisation": "de-smd",
            "instrument_id": "health-short",
            "email": address,
            "due_at": due,
        },
        headers={**pro, "Idempotency-Key": f"inv-{unique}"},
    )
    assert r.status_code == 201, r.text
    invitation = r.json()
    assert invitation["status"] == "sent" and invitation["by_email"]
    assert "email" not in invitation

    async def mailed() -> list[Any]:
        return list(qs.mail.to(address))

    message = (await eventually_(mailed))[0]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "uitgenodigd" in text and "invited" in text and "/" in message["Subject"]
    link = re.search(r"/tenants/[^/]+/invitation-links/(\S+)", text)
    assert link is not None
    token = link.group(1)
    base = f"{P}/tenants/{qs.tenants.a}/invitation-links/{token}"
    opened = await qs.client.get(base)
    assert opened.status_code == 200 and opened.json()["status"] == "opened"
    started = await qs.client.post(f"{base}/responses")
    assert started.status_code == 201, started.text
    rid, resume = started.json()["response"]["id"], started.json()["resume_token"]
    assert (await qs.client.post(f"{base}/responses")).status_code == 409  # used
    r = await qs.client.post(
        f"{P}/tenants/{qs.tenants.a}/anonymous-responses/{rid}/submit",
        json={"answers": qs.answers("health-short")},
        headers={"X-Resume-Token": resume},
    )
    assert r.status_code == 200
    seen = await qs.client.get(f"{P}/invitations/{invitation['id']}", headers=pro)
    assert seen.json()["status"] == "submitted" and seen.json()["response_id"] == rid
    sent = await qs.wait_events("invitation_sent")
    assert sent[0]["data"]["person_id"] is None  # no e-mail address in the event
    assert address not in str(sent)
    submitted = await qs.wait_events("response_submitted")
    assert submitted[0]["data"]["invitation_id"] == invitation["id"]
    # A retried invite with the same key does not send a second e-mail.
    r = await qs.client.post(
        f"{P}/invitations",
        json={
            "organisation": "de-smd",
            "instrument_id": "health-short",
            "email": address,
            "due_at": due,
        },
        headers={**pro, "Idempotency-Key": f"inv-{unique}"},
    )
    assert r.status_code == 201 and r.json()["id"] == invitation["id"]


async def test_account_invitation_statuses_and_reminder(
    qs: Any, unique: str, eventually_: Any
) -> None:
    pro = qs.professional(org="de-smd")
    resident = qs.resident("person-inv")
    r = await qs.client.post(
        f"{P}/invitations",
        json={"organisation": "de-smd", "instrument_id": "health-short", "person_id": "person-inv"},
        headers=pro,
    )
    assert r.status_code == 201
    inv = r.json()
    mine = (await qs.client.get(f"{P}/me/invitations", headers=resident)).json()["items"]
    assert [i["id"] for i in mine] == [inv["id"]]
    opened = await qs.client.get(f"{P}/invitations/{inv['id']}", headers=resident)
    assert opened.json()["status"] == "opened"
    r = await qs.client.post(f"{P}/invitations/{inv['id']}/reminders", headers=pro)
    assert r.status_code == 200 and r.json()["reminders_sent"] == 1
    # Someone else cannot see or use it.
    other = qs.resident("person-other")
    assert (await qs.client.get(f"{P}/invitations/{inv['id']}", headers=other)).status_code == 404
    r = await qs.client.post(
        f"{P}/responses",
        json={"instrument_id": "health-short", "invitation_id": inv["id"]},
        headers=other,
    )
    assert r.status_code == 404
    started = await qs.start(resident, "health-short", invitation_id=inv["id"])
    listed = (await qs.client.get(f"{P}/invitations?organisation=de-smd", headers=pro)).json()
    assert listed["items"][0]["status"] == "started"
    await qs.client.post(
        f"{P}/responses/{started['id']}/submit",
        json={"answers": qs.answers("health-short")},
        headers=resident,
    )
    r = await qs.client.post(f"{P}/invitations/{inv['id']}/reminders", headers=pro)
    assert r.status_code == 409
    # Bad input.
    for body in (
        {"organisation": "de-smd", "instrument_id": "health-short"},
        {"organisation": "de-smd", "instrument_id": "health-short", "email": "geen-adres"},
        {
            "organisation": "de-smd",
            "instrument_id": "health-short",
            "person_id": "p",
            "due_at": "2000-01-01T00:00:00Z",
        },
    ):
        r = await qs.client.post(f"{P}/invitations", json=body, headers=pro)
        assert r.status_code == 422, body
    r = await qs.client.post(
        f"{P}/invitations",
        json={"organisation": "de-smd", "instrument_id": "health-short", "person_id": "p"},
        headers=resident,
    )
    assert r.status_code == 403


async def test_expired_invitation(qs: Any) -> None:
    pro = qs.professional(org="de-smd")
    resident = qs.resident("person-late")
    r = await qs.client.post(
        f"{P}/invitations",
        json={
            "organisation": "de-smd",
            "instrument_id": "health-short",
            "person_id": "person-late",
            "due_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
        headers=pro,
    )
    inv = r.json()
    db = await qs.app.state.ctx.db(qs.tenants.a)
    await db["invitations"].update_one(
        {"_id": inv["id"]}, {"$set": {"due_at": datetime.now(UTC) - timedelta(hours=1)}}
    )
    seen = await qs.client.get(f"{P}/invitations/{inv['id']}", headers=resident)
    assert seen.json()["status"] == "expired"
    r = await qs.client.post(
        f"{P}/responses",
        json={"instrument_id": "health-short", "invitation_id": inv["id"]},
        headers=resident,
    )
    assert r.status_code == 409 and r.json()["type"].endswith("invitation-expired")


async def test_followup_due_becomes_invitation(qs: Any, eventually_: Any) -> None:
    due = datetime.now(UTC) + timedelta(days=7)
    await qs.publish(
        FollowupDue(
            trajectory_id="traj-1",
            person_id="person-f1",
            instrument_id="effect-monitor",
            family="effect-monitor",
            sequence=1,
            due_at=due,
        ),
        organisation="de-smd",
    )
    resident = qs.resident("person-f1")

    async def invited() -> list[Any]:
        r = await qs.client.get(f"{P}/me/invitations", headers=resident)
        return list(r.json()["items"])

    inv = (await eventually_(invited))[0]
    assert inv["followup_of"] == "traj-1" and inv["instrument_id"] == "effect-monitor"
    assert inv["organisation"] == "de-smd"
    sent = await qs.wait_events("invitation_sent")
    assert sent[0]["data"]["followup_of"] == "traj-1"
    started = await qs.start(resident, "effect-monitor", invitation_id=inv["id"])
    assert started["trajectory_id"] == "traj-1"
    r = await qs.client.post(
        f"{P}/responses/{started['id']}/submit",
        json={"answers": qs.answers("effect-monitor")},
        headers=resident,
    )
    assert r.status_code == 200
    events = await qs.wait_events("response_submitted")
    assert events[0]["data"]["trajectory_id"] == "traj-1"
    assert events[0]["data"]["invitation_id"] == inv["id"]
    assert events[0]["data"]["phases"]


async def test_followup_that_fell_due_stays_open_for_the_response_window(
    qs: Any, eventually_: Any
) -> None:
    # Effect measurement publishes followup_due when the follow-up *is* due (due_at ≤ now):
    # the invitation must then still be open, for `followup_response_days`.
    fell_due = datetime.now(UTC) - timedelta(minutes=5)
    await qs.publish(
        FollowupDue(
            trajectory_id="traj-2",
            person_id="person-f2",
            instrument_id="effect-monitor",
            family="effect-monitor",
            sequence=1,
            due_at=fell_due,
        ),
        organisation="de-smd",
    )
    resident = qs.resident("person-f2")

    async def invited() -> list[Any]:
        r = await qs.client.get(f"{P}/me/invitations", headers=resident)
        return list(r.json()["items"])

    inv = (await eventually_(invited))[0]
    assert inv["status"] != "expired"
    assert datetime.fromisoformat(inv["due_at"]) > datetime.now(UTC) + timedelta(days=29)
    started = await qs.start(resident, "effect-monitor", invitation_id=inv["id"])
    assert started["trajectory_id"] == "traj-2"
