"""The seeds' central flow: a resident on the waiting list gets an e-mail, fills in the
questionnaire before the first conversation, allows the inviting organisation to see the
answers, later attaches the response to a new account; the professional sees the result
(scores and answers) before the first conversation, and only with that share or consent."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from wijkkracht_common.events.identity import ConsentRevoked

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def invited_by_email(qs: Any, pro: dict[str, str], eventually_: Any) -> tuple[str, str]:
    """An e-mail invitation of de-smd; (invitation id, the token of the link in the mail)."""
    address = f"wachtlijst-{uuid.uuid4().hex[:8]}@example.org"
    r = await qs.client.post(
        f"{P}/invitations",
        json={"organisation": "de-smd", "instrument_id": "health-short", "email": address},
        headers=pro,
    )
    assert r.status_code == 201, r.text

    async def mailed() -> list[Any]:
        return list(qs.mail.to(address))

    text = (await eventually_(mailed))[0].get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"/invitation-links/(\S+)", text)
    assert link is not None
    return r.json()["id"], link.group(1)


async def test_invited_answers_reach_the_professional(qs: Any, eventually_: Any) -> None:
    tenant = qs.tenants.a
    pro = qs.professional("person-p1", org="de-smd")
    invitation_id, token = await invited_by_email(qs, pro, eventually_)
    started = await qs.client.post(f"{P}/tenants/{tenant}/invitation-links/{token}/responses")
    assert started.status_code == 201
    rid, resume = started.json()["response"]["id"], started.json()["resume_token"]
    anonymous = f"{P}/tenants/{tenant}/anonymous-responses/{rid}"
    r = await qs.client.post(
        f"{anonymous}/submit",
        json={"answers": qs.answers("health-short")},
        headers={"X-Resume-Token": resume},
    )
    assert r.status_code == 200
    question = r.json()["invitation_share"]
    assert question["choice"] is None and question["organisation"] == "de-smd"
    assert "eerste gesprek" in question["question"]["nl"]
    # Before the resident chose: the professional sees "submitted" and an id, no answers.
    seen = await qs.client.get(f"{P}/invitations/{invitation_id}", headers=pro)
    assert seen.json()["status"] == "submitted" and seen.json()["response_id"] == rid
    assert (await qs.client.get(f"{P}/responses/{rid}", headers=pro)).status_code == 404

    share = {"share": True}
    r = await qs.client.put(f"{anonymous}/invitation-share", json=share)
    assert r.status_code == 404  # the resume token is the proof
    for _ in range(2):  # repeated: the same answer, one event
        r = await qs.client.put(
            f"{anonymous}/invitation-share", json=share, headers={"X-Resume-Token": resume}
        )
        assert r.status_code == 200 and r.json()["invitation_share"]["choice"] == "shared"
    result = await qs.client.get(f"{P}/responses/{rid}", headers=pro)
    assert result.status_code == 200
    assert result.json()["answers"] and result.json()["result"]["dimension_scores"]
    chart = await qs.client.get(f"{P}/responses/{rid}/chart.svg", headers=pro)
    assert chart.status_code == 200
    other_org = qs.professional("person-p2", org="andere-org")
    assert (await qs.client.get(f"{P}/responses/{rid}", headers=other_org)).status_code == 404
    [shared] = await qs.wait_events("invitation_answers_shared")
    assert shared["data"] == {
        "invitation_id": invitation_id,
        "response_id": rid,
        "organisation_slug": "de-smd",
        "person_id": None,
    }

    # The resident makes an account and attaches the response to it.
    person = str(uuid.uuid4())
    resident = qs.resident(person)
    attach = f"{P}/responses/{rid}/attachment"
    wrong = await qs.client.post(attach, json={"invitation_token": "x" + token}, headers=resident)
    assert wrong.status_code == 404
    elsewhere = qs.resident(person, tenant=qs.tenants.b)  # tenant B: not there
    r = await qs.client.post(attach, json={"invitation_token": token}, headers=elsewhere)
    assert r.status_code == 404
    for _ in range(2):  # idempotent
        r = await qs.client.post(attach, json={"invitation_token": token}, headers=resident)
        assert r.status_code == 200 and r.json()["person_id"] == person
    someone = qs.resident(str(uuid.uuid4()))
    r = await qs.client.post(attach, json={"invitation_token": token}, headers=someone)
    assert r.status_code == 404  # another person's response now
    assert (
        await qs.client.get(f"{anonymous}", headers={"X-Resume-Token": resume})
    ).status_code == 404
    mine = (await qs.client.get(f"{P}/responses", headers=resident)).json()["items"]
    assert [m["id"] for m in mine] == [rid]
    invited = (await qs.client.get(f"{P}/me/invitations", headers=resident)).json()["items"]
    assert [i["id"] for i in invited] == [invitation_id]
    # Published again, now with the person: identity records `share_results` consent.
    events = await qs.wait_events("invitation_answers_shared", count=2)
    assert [e["data"]["person_id"] for e in events] == [None, person]
    # The professional's view is now access-logged for the resident, on behalf of de-smd.
    assert (await qs.client.get(f"{P}/responses/{rid}", headers=pro)).status_code == 200
    db = await qs.app.state.ctx.db(tenant)
    logged = await db["access_log"].find({"resident": person}).to_list(None)
    assert logged and {e["on_behalf_of"] for e in logged} == {"de-smd"}
    # Withdrawing is done in identity's consents; a revocation ends the view.
    r = await qs.client.put(
        f"{P}/responses/{rid}/invitation-share", json={"share": False}, headers=resident
    )
    assert r.status_code == 409 and r.json()["type"].endswith("share-is-consent")
    await qs.publish(
        ConsentRevoked(
            person_id=person, organisation_slug="de-smd", purpose="share_results", version=2
        ),
        subject=person,
    )

    async def hidden() -> bool:
        return (await qs.client.get(f"{P}/responses/{rid}", headers=pro)).status_code == 404

    await eventually_(hidden)


async def test_choice_bad_input_and_tenant_isolation(qs: Any) -> None:
    pro = qs.professional("person-p1", org="de-smd")
    resident = qs.resident("person-ia1")
    r = await qs.client.post(
        f"{P}/invitations",
        json={"organisation": "de-smd", "instrument_id": "health-short", "person_id": "person-ia1"},
        headers=pro,
    )
    done = await qs.fill_and_submit(resident, "health-short", invitation_id=r.json()["id"])
    url = f"{P}/responses/{done['id']}/invitation-share"
    assert (await qs.client.put(url, json={"share": True}, headers=pro)).status_code == 404
    other = qs.resident("person-ia2")
    assert (await qs.client.put(url, json={"share": True}, headers=other)).status_code == 404
    same_in_b = qs.resident("person-ia1", tenant=qs.tenants.b)
    assert (await qs.client.put(url, json={"share": True}, headers=same_in_b)).status_code == 404
    assert (await qs.client.put(url, json={"share": "ja"}, headers=resident)).status_code == 422
    assert (await qs.client.put(url, json={}, headers=resident)).status_code == 422
    r = await qs.client.put(url, json={"share": True}, headers=resident)
    assert r.status_code == 200
    [event] = await qs.wait_events("invitation_answers_shared")
    assert event["data"]["person_id"] == "person-ia1"
    # The professional sees it at once; tenant B's professional does not.
    assert (await qs.client.get(f"{P}/responses/{done['id']}", headers=pro)).status_code == 200
    pro_b = qs.professional("person-p1", org="de-smd", tenant=qs.tenants.b)
    assert (await qs.client.get(f"{P}/responses/{done['id']}", headers=pro_b)).status_code == 404
    own = await qs.fill_and_submit(resident, "health-short")
    r = await qs.client.put(
        f"{P}/responses/{own['id']}/invitation-share", json={"share": True}, headers=resident
    )
    assert r.status_code == 409 and r.json()["type"].endswith("not-invited")
    r = await qs.client.post(
        f"{P}/responses/{own['id']}/attachment", json={"invitation_token": ""}, headers=resident
    )
    assert r.status_code == 422
