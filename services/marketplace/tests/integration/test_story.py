"""The issue's story through the running service: a broker posts a request for a resident
who is not online (in that resident's access log, on behalf of the broker's organisation); a
volunteer nearby is told, offers help, they exchange messages, the help is marked done
(`help_completed` for effect measurement), and credits move within the group's limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mp_harness import PREFIX, Market, person, request_body
from wijkkracht_common.access_log import ACCESS_LOG
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

ORG = "welzijn-demo"


async def last_event(market: Market, tenant: str, name: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        try:
            msg = await market.js.get_last_msg("MARKETPLACE", f"wk.{tenant}.marketplace.{name}.v1")
        except Exception:
            return None
        data: dict[str, Any] = json.loads(msg.data)
        return data

    return await eventually(found)


async def test_broker_request_to_help_completed_and_credits(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    piet, vera, broker, outsider_broker = person(), person(), person(), person()
    await market.setup(t, {piet: "DM01", vera: "DM02", broker: "DM03"})
    hb = market.h(t, broker, welzijn_demo=["broker"])
    hv = market.h(t, vera, welzijn_demo=["volunteer"])
    c = market.client

    # Vera opted in to hear about paperwork help nearby, at once by mail.
    optin = await c.put(
        f"{PREFIX}/me/volunteer",
        json={"categories": ["administratie"], "radius_km": 5, "email": "vera@example.test"},
        headers=hv,
    )
    assert optin.status_code == 200, optin.text

    # Without Piet's consent the broker cannot act for him (his data does not exist: 404).
    refused = await c.post(
        f"{PREFIX}/posts", params={"for_person": piet}, json=request_body(), headers=hb
    )
    assert refused.status_code == 404
    await market.grant_broker_consent(t, piet, ORG)
    # A broker of another organisation still cannot.
    other = market.h(t, outsider_broker, andere_org=["broker"])
    assert (
        await c.post(
            f"{PREFIX}/posts", params={"for_person": piet}, json=request_body(), headers=other
        )
    ).status_code == 404

    # A group with time credits: the broker joins Piet, Vera joins.
    group = await c.post(
        f"{PREFIX}/groups",
        json={
            "name": "Buurtkring Oeverhoek",
            "kind": "open",
            "organisation": ORG,
            "credits": {"enabled": True, "min_balance": -3, "max_balance": 5},
        },
        headers=market.h(t, broker, welzijn_demo=["broker", "professional"]),
    )
    assert group.status_code == 201, group.text
    gid = group.json()["id"]
    joined = await c.post(
        f"{PREFIX}/groups/{gid}/membership", params={"for_person": piet}, headers=hb
    )
    assert joined.json()["status"] == "active"
    assert (await c.post(f"{PREFIX}/groups/{gid}/membership", headers=hv)).json()[
        "status"
    ] == "active"

    made = await c.post(
        f"{PREFIX}/posts",
        params={"for_person": piet},
        json=request_body(text="Hulp bij het invullen van de huurtoeslag", radius_km=3),
        headers=hb,
    )
    assert made.status_code == 201, made.text
    post = made.json()
    assert post["owner_id"] == piet and post["brokered"] is True
    assert post["broker_organisation"] == ORG

    # The post is in Piet's access log, on behalf of the broker's organisation.
    db = await market.ctx.db(t)
    logged = await db[ACCESS_LOG].find({"resident": piet}).to_list(None)
    created = [d for d in logged if d["resource"] == f"post/{post['id']}"]
    assert created and created[0]["on_behalf_of"] == ORG
    assert created[0]["actor"] == broker and created[0]["reason"] == "marketplace_broker"
    recorded = await eventually(lambda: _access_event(market, t))
    assert recorded["data"]["resident"] == piet and recorded["data"]["on_behalf_of"] == ORG
    published = await last_event(market, t, "post_published")
    assert published["data"]["post_id"] == post["id"] and published["data"]["brokered"] is True
    assert "text" not in published["data"]  # ids and categories only

    # Vera, nearby, is told: in the platform and by mail (no name, no text in the mail).
    notes = await c.get(f"{PREFIX}/me/notifications", headers=hv)
    told = [n for n in notes.json()["items"] if n["kind"] == "request_nearby"]
    assert told and told[0]["post_id"] == post["id"]

    async def mailed() -> bool:
        return bool(market.mail.to("vera@example.test"))

    await eventually(mailed)
    mail = market.mail.to("vera@example.test")[-1]
    assert "huurtoeslag" not in mail.get_content()

    # The request's candidates include Vera (neighbourhood and band only).
    cands = await c.get(
        f"{PREFIX}/posts/{post['id']}/candidates", params={"for_person": piet}, headers=hb
    )
    assert cands.status_code == 200
    volunteer = [x for x in cands.json()["items"] if x["kind"] == "volunteer"]
    assert volunteer and volunteer[0]["ref_id"] == vera
    assert volunteer[0]["neighbourhood_code"] == "DM02" and volunteer[0]["distance_band"]

    # Vera offers help; the broker accepts for Piet: the match is made.
    response = await c.post(
        f"{PREFIX}/posts/{post['id']}/responses", json={"message": "Ik help graag!"}, headers=hv
    )
    assert response.status_code == 201, response.text
    match_id = response.json()["id"]
    accepted = await c.post(
        f"{PREFIX}/matches/{match_id}/acceptance", params={"for_person": piet}, headers=hb
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    made_event = await last_event(market, t, "match_made")
    assert (
        made_event["data"]["helper_id"] == vera and made_event["data"]["helped_person_id"] == piet
    )

    # They exchange messages (the broker reads and writes for Piet).
    reply = await c.post(
        f"{PREFIX}/matches/{match_id}/messages",
        params={"for_person": piet},
        json={"text": "Dank u, dinsdagochtend?"},
        headers=hb,
    )
    assert reply.status_code == 201 and reply.json()["by_broker"] is True
    thread = await c.get(f"{PREFIX}/matches/{match_id}/messages", headers=hv)
    assert [m["text"] for m in thread.json()["items"]] == [
        "Ik help graag!",
        "Dank u, dinsdagochtend?",
    ]
    # Contact details are shown only when both agreed.
    await c.post(
        f"{PREFIX}/matches/{match_id}/contact", json={"contact": "06-12345678"}, headers=hv
    )
    seen_by_piet = await c.get(
        f"{PREFIX}/matches/{match_id}", params={"for_person": piet}, headers=hb
    )
    assert seen_by_piet.json()["contacts"] == {}
    both = await c.post(
        f"{PREFIX}/matches/{match_id}/contact",
        params={"for_person": piet},
        json={"contact": "via buurthuis: 0299-123456"},
        headers=hb,
    )
    assert both.json()["contacts_shared"] is True and both.json()["contacts"][vera] == "06-12345678"

    # Vera marks the help done: help_completed (for effect measurement), the post is done.
    done = await c.post(f"{PREFIX}/matches/{match_id}/completion", headers=hv)
    assert done.status_code == 200 and done.json()["status"] == "done"
    completed = await last_event(market, t, "help_completed")
    assert completed["data"]["helped_person_id"] == piet and completed["data"]["helper_id"] == vera
    assert completed["data"]["category"] == "administratie"
    closed = await last_event(market, t, "post_closed")
    assert closed["data"]["reason"] == "done"

    # Credits move within the group's limits (Piet may go to -3).
    def pay(amount: int, key: str) -> Any:
        return c.post(
            f"{PREFIX}/groups/{gid}/transfers",
            params={"for_person": piet},
            json={"to_person_id": vera, "amount": amount, "match_id": match_id},
            headers={**hb, "Idempotency-Key": key},
        )

    paid = await pay(2, "pay-1")
    assert paid.status_code == 201, paid.text
    assert (await pay(2, "pay-1")).headers.get("idempotent-replay") == "true"
    over = await pay(2, "pay-2")  # Piet would reach -4
    assert over.status_code == 409 and over.json()["type"].endswith("balance-limit")
    balance = await c.get(f"{PREFIX}/groups/{gid}/balance", headers=hv)
    assert balance.json()["balance"] == 2
    moved = await last_event(market, t, "credits_transferred")
    assert moved["data"]["amount"] == 2 and moved["data"]["to_person_id"] == vera

    # Every broker action for Piet is in his access log, on behalf of the organisation.
    resources = [d["resource"] for d in await db[ACCESS_LOG].find({"resident": piet}).to_list(None)]
    for expected in (
        f"post/{post['id']}",
        f"match/{match_id}/accept",
        f"transfer/{paid.json()['id']}",
    ):
        assert expected in resources
    assert all(
        d["on_behalf_of"] == ORG
        for d in await db[ACCESS_LOG].find({"resident": piet}).to_list(None)
    )


async def _access_event(market: Market, tenant: str) -> dict[str, Any] | None:
    try:
        msg = await market.js.get_last_msg("ACCESS", f"wk.{tenant}.access.recorded.v1")
    except Exception:
        return None
    data: dict[str, Any] = json.loads(msg.data)
    return data


async def test_another_tenant_reaches_no_match_message_or_credit(
    market: Market, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a, two_tenants.b
    anna, vera, stranger = person(), person(), person()
    await market.setup(a, {anna: "DM01", vera: "DM01"})
    await market.setup(b, {stranger: "DM01"})
    c = market.client
    post = (await market.post(a, anna, request_body())).json()
    match = (
        await c.post(f"{PREFIX}/posts/{post['id']}/responses", headers=market.h(a, vera))
    ).json()
    url = f"{PREFIX}/matches/{match['id']}"
    # the same ids, another tenant: the person with Vera's id there included
    for sub in (stranger, vera, anna):
        hb = market.h(b, sub)
        assert (await c.get(url, headers=hb)).status_code == 404
        assert (await c.get(f"{url}/messages", headers=hb)).status_code == 404
        for action in ("acceptance", "declination", "withdrawal", "completion"):
            assert (await c.post(f"{url}/{action}", headers=hb)).status_code == 404
        sent = await c.post(f"{url}/messages", json={"text": "hallo"}, headers=hb)
        assert sent.status_code == 404
        shared = await c.post(f"{url}/contact", json={"contact": "06-1"}, headers=hb)
        assert shared.status_code == 404
        assert (await c.get(f"{PREFIX}/matches", headers=hb)).json()["items"] == []
    # and within the tenant, a third person is no party either
    third = person()
    await market.setup(a, {third: "DM02"})
    assert (await c.get(url, headers=market.h(a, third))).status_code == 404
    assert (await c.get(url, headers=market.h(a, anna))).json()["status"] == "proposed"
