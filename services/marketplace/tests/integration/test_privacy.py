"""The privacy contracts: erasure leaves no residue (and late events none either) while the
ledger stays whole; export holds the person's data; staff access is logged on behalf of
their organisation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mp_harness import PREFIX, Market, person, request_body
from wijkkracht_common import export, privacy_scan
from wijkkracht_common.access_log import ACCESS_LOG
from wijkkracht_common.events.identity import (
    ConsentGranted,
    PersonErasureRequested,
    PersonExportRequested,
    PersonRegistered,
)
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

ORG = "welzijn-demo"


async def event_for(market: Market, tenant: str, name: str, person_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        try:
            msg = await market.js.get_last_msg("MARKETPLACE", f"wk.{tenant}.marketplace.{name}.v1")
        except Exception:
            return None
        data: dict[str, Any] = json.loads(msg.data)
        return data if data["data"]["person_id"] == person_id else None

    return await eventually(found)


async def residue(market: Market, tenant: str, person_id: str) -> list[Any]:
    found = await privacy_scan.scan_databases(market.mongo_url, tenant, person_id)
    return [r for r in found if r.database.startswith("wk_marketplace_")]


async def build_a_life(market: Market, t: str) -> dict[str, str]:
    """Piet asks (through a broker), responds to Vera's offer, messages, pays credits, is a
    volunteer with a VOG, blocks and reports someone."""
    piet, vera, broker, mod = person(), person(), person(), person()
    await market.setup(t, {piet: "DM01", vera: "DM01", broker: "DM02", mod: "DM02"})
    c = market.client
    hp, hv = market.h(t, piet), market.h(t, vera)
    hb = market.h(t, broker, welzijn_demo=["broker", "professional"])
    await market.grant_broker_consent(t, piet, ORG)
    gid = (
        await c.post(
            f"{PREFIX}/groups",
            json={"name": "Kring", "kind": "open", "credits": {"enabled": True}},
            headers=market.h(t, mod),
        )
    ).json()["id"]
    for h in (hp, hv):
        await c.post(f"{PREFIX}/groups/{gid}/membership", headers=h)
    asked = await c.post(
        f"{PREFIX}/posts",
        params={"for_person": piet},
        json=request_body(text="Hulp met de post"),
        headers={**hb, "Idempotency-Key": "broker-1"},
    )
    assert asked.status_code == 201, asked.text
    offer = await market.post(
        t, vera, {"kind": "offer", "category": "wandelen", "text": "Samen wandelen"}
    )
    match = await c.post(
        f"{PREFIX}/posts/{offer.json()['id']}/responses",
        json={"message": "Graag, ik ben Piet"},
        headers={**hp, "Idempotency-Key": "resp-1"},
    )
    assert match.status_code == 201
    mid = match.json()["id"]
    await c.post(f"{PREFIX}/matches/{mid}/acceptance", headers=hv)
    await c.post(f"{PREFIX}/matches/{mid}/messages", json={"text": "Tot dinsdag"}, headers=hv)
    await c.post(f"{PREFIX}/matches/{mid}/contact", json={"contact": "06-1111"}, headers=hp)
    paid = await c.post(
        f"{PREFIX}/groups/{gid}/transfers",
        json={"to_person_id": vera, "amount": 3},
        headers={**hp, "Idempotency-Key": "t-1"},
    )
    assert paid.status_code == 201, paid.text
    back = await c.post(
        f"{PREFIX}/groups/{gid}/transfers",
        json={"to_person_id": piet, "amount": 1},
        headers={**hv, "Idempotency-Key": "t-2"},
    )
    assert back.status_code == 201
    await c.put(
        f"{PREFIX}/me/volunteer",
        json={"categories": ["digitaal"], "email": "piet@example.test", "notify": "daily"},
        headers=hp,
    )
    vog = await c.post(
        f"{PREFIX}/certificates",
        json={"organisation": ORG, "person_id": piet, "issued_on": "2024-05-01"},
        headers=hb,
    )
    assert vog.status_code == 201
    await c.post(f"{PREFIX}/blocks", json={"person_id": mod}, headers=hp)
    await c.post(
        f"{PREFIX}/reports",
        json={"target": "post", "target_id": offer.json()["id"], "reason": "spam"},
        headers=hp,
    )
    return {"piet": piet, "vera": vera, "group": gid, "match": mid}


async def test_erasure_leaves_no_residue_and_the_ledger_whole(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    ids = await build_a_life(market, t)
    piet, vera, gid = ids["piet"], ids["vera"], ids["group"]
    assert await residue(market, t, piet)  # the scan does find him before
    before = await (await market.repo(t)).group_statistics(gid)

    await market.publish(PersonErasureRequested(person_id=piet), t, subject=piet)
    answer = await event_for(market, t, "person_data_erased", piet)
    erased = answer["data"]["erased"]
    assert erased["posts"] == 1 and erased["messages"] == 2 and erased["certificates"] == 1
    anonymised = answer["data"]["anonymised"]
    assert (
        anonymised["movements"] == 2
        and anonymised["transfers"] == 2
        and anonymised["accounts"] == 1
    )
    assert answer["data"]["anonymised"]["access_log"] >= 1

    async def clean() -> bool:
        return not await residue(market, t, piet)

    await eventually(clean)
    # balances and the group's figures still add up; Vera keeps what she was paid
    r = await market.repo(t)
    after = await r.group_statistics(gid)
    assert after.balance_total == before.balance_total == after.movement_total == 0
    assert after.movements == before.movements == 4
    assert await r.balance(gid, vera) == 2
    # Vera's offer stays, the match with Piet (and its messages) is gone
    assert (
        await market.client.get(f"{PREFIX}/matches/{ids['match']}", headers=market.h(t, vera))
    ).status_code == 404

    # late events about Piet leave nothing behind
    await market.publish(PersonRegistered(person_id=piet, pc4="9903"), t, subject=piet)
    late = await market.publish(
        ConsentGranted(person_id=piet, organisation_slug=ORG, purpose="share_results", version=9),
        t,
        subject=piet,
    )

    async def drained() -> bool:
        info = await market.js.consumer_info("IDENTITY", "marketplace__identity_consent_granted_v1")
        return info.num_pending == 0 and info.num_ack_pending == 0

    await eventually(drained)
    assert late.id
    assert not await residue(market, t, piet)


async def test_export_holds_the_persons_data(market: Market, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    ids = await build_a_life(market, t)
    piet = ids["piet"]
    await market.publish(PersonExportRequested(export_id="exp-1", person_id=piet), t, subject=piet)
    answer = await event_for(market, t, "person_data_exported", piet)
    counts = answer["data"]["counts"]
    assert counts["posts"] == 1 and counts["matches"] == 1 and counts["messages"] == 2
    assert counts["time_credit_transfers"] == 2 and counts["certificates_of_conduct"] == 1
    part = await export.read_part(market.js, answer["data"]["object_name"])
    assert part["person_id"] == piet
    assert part["posts"][0]["text"] == "Hulp met de post"
    assert part["volunteer_profile"]["email"] == "piet@example.test"
    assert part["certificates_of_conduct"][0]["expires_on"] == "2027-05-01"


async def test_staff_access_is_logged_on_behalf_of_their_organisation(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    resident, broker, coordinator = person(), person(), person()
    await market.setup(t, {resident: "DM04", broker: "DM04", coordinator: "DM04"})
    c = market.client
    hb = market.h(t, broker, welzijn_demo=["broker"])
    # no consent: nothing of the resident exists for the broker
    assert (
        await c.get(f"{PREFIX}/posts/mine", params={"for_person": resident}, headers=hb)
    ).status_code == 404
    await market.grant_broker_consent(t, resident, ORG)
    made = await market.post(t, resident, request_body())
    mine = await c.get(f"{PREFIX}/posts/mine", params={"for_person": resident}, headers=hb)
    assert [p["id"] for p in mine.json()["items"]] == [made.json()["id"]]
    read = await c.get(
        f"{PREFIX}/posts/{made.json()['id']}", params={"for_person": resident}, headers=hb
    )
    assert read.status_code == 200
    # an organisation's staff recording and reading a volunteer's VOG
    staff = market.h(t, coordinator, welzijn_demo=["org_admin"])
    await c.post(
        f"{PREFIX}/certificates",
        json={"organisation": ORG, "person_id": resident, "issued_on": "2025-01-02"},
        headers=staff,
    )
    seen = await c.get(f"{PREFIX}/certificates", params={"person_id": resident}, headers=staff)
    assert seen.json()["items"][0]["expires_on"] == "2028-01-02"
    db = await market.ctx.db(t)
    logged = await db[ACCESS_LOG].find({"resident": resident}).to_list(None)
    by_resource = {(d["actor"], d["resource"], d["action"]): d for d in logged}
    assert by_resource[(broker, "posts/mine", "read")]["on_behalf_of"] == ORG
    assert by_resource[(broker, f"post/{made.json()['id']}", "read")]["on_behalf_of"] == ORG
    assert by_resource[(coordinator, "certificates", "read")]["on_behalf_of"] == ORG
    assert all(d["on_behalf_of"] == ORG for d in logged)
    # the resident's own reads are not access-logged
    await c.get(f"{PREFIX}/posts/mine", headers=market.h(t, resident))
    assert len(await db[ACCESS_LOG].find({"resident": resident}).to_list(None)) == len(logged)
