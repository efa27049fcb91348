"""Safety (reports hidden pending review, blocks, VOG for home visits), the social map's
entries as candidates (fresh only), the notice board and phone summary, the daily digest,
balance figures for analysts, and every operation's stance on machine tokens."""

from __future__ import annotations

import pytest
from marketplace.main import PREFIX
from marketplace.service import notifications
from mp_harness import Market, person, request_body
from wijkkracht_common.auth import operation_stances
from wijkkracht_common.events.identity import OrganisationCreated
from wijkkracht_common.events.social_map import EntryPublished, EntryWentStale
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


async def test_a_reported_post_is_hidden_until_a_moderator_decides(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, bert, cees, admin = person(), person(), person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM01", cees: "DM01", admin: "DM02"})
    c = market.client
    post = (await market.post(t, anna, request_body())).json()
    url = f"{PREFIX}/posts/{post['id']}"
    reported = await c.post(
        f"{PREFIX}/reports",
        json={"target": "post", "target_id": post["id"], "reason": "inappropriate"},
        headers=market.h(t, bert),
    )
    assert reported.status_code == 201
    assert (await c.get(url, headers=market.h(t, cees))).status_code == 404
    own = await c.get(url, headers=market.h(t, anna))
    assert own.status_code == 200 and own.json()["under_review"] is True
    # residents do not review; the tenant's moderators do
    assert (await c.get(f"{PREFIX}/reports", headers=market.h(t, cees))).status_code == 403
    hm = market.h(t, admin, gemeente_demo=["neighbourhood_manager"])
    queue = await c.get(f"{PREFIX}/reports", headers=hm)
    [item] = queue.json()["items"]
    assert "reporter_id" not in item
    dismissed = await c.post(
        f"{PREFIX}/reports/{item['id']}/decision", json={"uphold": False}, headers=hm
    )
    assert dismissed.json()["status"] == "dismissed"
    assert (await c.get(url, headers=market.h(t, cees))).status_code == 200
    again = await c.post(
        f"{PREFIX}/reports/{item['id']}/decision", json={"uphold": True}, headers=hm
    )
    assert again.status_code == 409


async def test_a_reported_message_is_hidden_from_the_other_side(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, vera = person(), person()
    await market.setup(t, {anna: "DM01", vera: "DM01"})
    c = market.client
    post = (await market.post(t, anna, request_body())).json()
    match = (
        await c.post(
            f"{PREFIX}/posts/{post['id']}/responses",
            json={"message": "Bel me op 06-99"},
            headers=market.h(t, vera),
        )
    ).json()
    thread = f"{PREFIX}/matches/{match['id']}/messages"
    [message] = (await c.get(thread, headers=market.h(t, anna))).json()["items"]
    reported = await c.post(
        f"{PREFIX}/reports",
        json={"target": "message", "target_id": message["id"], "reason": "unsafe"},
        headers=market.h(t, anna),
    )
    assert reported.status_code == 201
    assert (await c.get(thread, headers=market.h(t, anna))).json()["items"] == []
    own = (await c.get(thread, headers=market.h(t, vera))).json()["items"]
    assert own[0]["under_review"] is True


async def test_blocking_keeps_people_apart(market: Market, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    anna, bert = person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM01"})
    c = market.client
    post = (await market.post(t, anna, request_body())).json()
    blocked = await c.post(
        f"{PREFIX}/blocks", json={"post_id": post["id"]}, headers=market.h(t, bert)
    )
    assert blocked.status_code == 201
    # neither sees the other's posts any more
    assert (
        await c.get(f"{PREFIX}/posts/{post['id']}", headers=market.h(t, bert))
    ).status_code == 404
    bert_post = (await market.post(t, bert, request_body())).json()
    assert (
        await c.get(f"{PREFIX}/posts/{bert_post['id']}", headers=market.h(t, anna))
    ).status_code == 404
    self_block = await c.post(
        f"{PREFIX}/blocks", json={"person_id": bert}, headers=market.h(t, bert)
    )
    assert self_block.status_code == 422
    assert (await c.delete(f"{PREFIX}/blocks/{anna}", headers=market.h(t, bert))).status_code == 204
    assert (
        await c.get(f"{PREFIX}/posts/{post['id']}", headers=market.h(t, bert))
    ).status_code == 200


async def test_a_blocked_person_is_not_among_a_requests_candidates(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, bert = person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM01"})
    c = market.client
    request = (await market.post(t, anna, request_body())).json()
    offer = (await market.post(t, bert, {**request_body(), "kind": "offer"})).json()
    url = f"{PREFIX}/posts/{request['id']}/candidates"

    async def offered() -> list[str]:
        found = await c.get(url, headers=market.h(t, anna))
        assert found.status_code == 200, found.text
        return [x["ref_id"] for x in found.json()["items"] if x["kind"] == "offer"]

    assert offer["id"] in await offered()
    blocked = await c.post(f"{PREFIX}/blocks", json={"person_id": bert}, headers=market.h(t, anna))
    assert blocked.status_code == 201, blocked.text
    assert offer["id"] not in await offered()
    assert (await c.delete(f"{PREFIX}/blocks/{bert}", headers=market.h(t, anna))).status_code == 204
    # blocked the other way round: left out too
    blocked = await c.post(f"{PREFIX}/blocks", json={"person_id": anna}, headers=market.h(t, bert))
    assert blocked.status_code == 201, blocked.text
    assert offer["id"] not in await offered()


async def test_a_group_can_require_a_vog_for_home_visits(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, vera, coordinator = person(), person(), person()
    await market.setup(t, {anna: "DM01", vera: "DM01", coordinator: "DM01"})
    c = market.client
    staff = market.h(t, coordinator, welzijn_demo=["org_admin"])
    gid = (
        await c.post(
            f"{PREFIX}/groups",
            json={
                "name": "Thuishulp",
                "kind": "open",
                "organisation": "welzijn-demo",
                "vog_required": True,
            },
            headers=staff,
        )
    ).json()["id"]
    for p in (anna, vera):
        await c.post(f"{PREFIX}/groups/{gid}/membership", headers=market.h(t, p))
    post = (await market.post(t, anna, request_body(visibility="group", group_id=gid))).json()
    respond = f"{PREFIX}/posts/{post['id']}/responses"
    refused = await c.post(respond, headers=market.h(t, vera))
    assert refused.status_code == 409 and refused.json()["type"].endswith("vog-required")
    expired = await c.post(
        f"{PREFIX}/certificates",
        json={"organisation": "welzijn-demo", "person_id": vera, "issued_on": "2020-01-01"},
        headers=staff,
    )
    assert expired.json()["expires_on"] == "2023-01-01"
    assert (await c.post(respond, headers=market.h(t, vera))).status_code == 409
    today = market.clock.now.date().isoformat()
    await c.post(
        f"{PREFIX}/certificates",
        json={"organisation": "welzijn-demo", "person_id": vera, "issued_on": today},
        headers=staff,
    )
    assert (await c.post(respond, headers=market.h(t, vera))).status_code == 201
    future = await c.post(
        f"{PREFIX}/certificates",
        json={"organisation": "welzijn-demo", "person_id": vera, "issued_on": "2999-01-01"},
        headers=staff,
    )
    assert future.status_code == 422


async def test_fresh_social_map_entries_are_candidates_stale_ones_never(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    piet = person()
    await market.setup(t, {piet: "DM01"})
    walk = EntryPublished(
        entry_id="e-walk",
        organization_id="o1",
        owner_organisation="welzijn-demo",
        kind="activity",
        category_codes=["wandelen"],
        pc4s=["9903"],
    )
    old = EntryPublished(
        entry_id="e-old",
        organization_id="o2",
        kind="activity",
        category_codes=["wandelen"],
        pc4s=["9902"],
    )
    await market.publish(walk, t, subject="e-walk")
    await market.publish(old, t, subject="e-old")
    await market.publish(
        EntryWentStale(entry_id="e-old", organization_id="o2", state="stale"), t, subject="e-old"
    )

    async def projected() -> bool:
        entry = await (await market.repo(t)).map_entry("e-old")
        return entry is not None and entry.state == "stale"

    await eventually(projected)
    post = (await market.post(t, piet, request_body(category="wandelen"))).json()
    found = await market.client.get(
        f"{PREFIX}/posts/{post['id']}/candidates", headers=market.h(t, piet)
    )
    refs = [(x["kind"], x["ref_id"]) for x in found.json()["items"]]
    assert refs == [("map_entry", "e-walk")]
    assert found.json()["items"][0]["distance_band"]["code"] == "same_neighbourhood"


async def test_local_businesses_offer_to_the_neighbourhood(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    owner = person()
    await market.setup(t, {owner: "DM02"})
    await market.publish(
        OrganisationCreated(organisation_slug="bakkerij-jansen", kind="business"), t
    )

    async def known() -> bool:
        return await (await market.repo(t)).organisation("bakkerij-jansen") is not None

    await eventually(known)
    offer = {
        "kind": "offer",
        "category": "samen_eten",
        "text": "Elke vrijdag soep voor wie alleen eet",
        "organisation": "bakkerij-jansen",
        "neighbourhood_code": "DM02",
        "visibility": "neighbourhood",
    }
    made = await market.client.post(
        f"{PREFIX}/posts", json=offer, headers=market.h(t, owner, bakkerij_jansen=["org_admin"])
    )
    assert made.status_code == 201, made.text


async def test_notice_board_and_phone_summary(market: Market, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    anna, bert, broker = person(), person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM01", broker: "DM01"})
    await market.post(t, anna, request_body(text="Wie helpt met <b>formulieren</b>?"))
    gid = (
        await market.client.post(
            f"{PREFIX}/groups", json={"name": "G", "kind": "closed"}, headers=market.h(t, bert)
        )
    ).json()["id"]
    await market.post(
        t, bert, request_body(text="Alleen voor de groep", visibility="group", group_id=gid)
    )
    hb = market.h(t, broker, welzijn_demo=["broker"])
    page = await market.client.get(f"{PREFIX}/neighbourhoods/DM01/notice-board", headers=hb)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Prikbord Oeverhoek" in page.text and "&lt;b&gt;formulieren" in page.text
    assert "Alleen voor de groep" not in page.text
    phone = await market.client.get(f"{PREFIX}/neighbourhoods/DM01/phone-summary", headers=hb)
    assert phone.text.startswith("In Oeverhoek staan 1 oproepen.")
    assert "Nummer:" in phone.text
    assert (
        await market.client.get(
            f"{PREFIX}/neighbourhoods/DM01/notice-board", headers=market.h(t, anna)
        )
    ).status_code == 403
    assert (
        await market.client.get(f"{PREFIX}/neighbourhoods/XX99/notice-board", headers=hb)
    ).status_code == 404


async def test_the_daily_digest_mails_pending_requests_once(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, wim = person(), person()
    await market.setup(t, {anna: "DM01", wim: "DM01"})
    await market.client.put(
        f"{PREFIX}/me/volunteer",
        json={"categories": ["administratie"], "notify": "daily", "email": "wim@example.test"},
        headers=market.h(t, wim),
    )
    for i in range(3):
        await market.post(t, anna, request_body(text=f"vraag {i}"))
    assert not market.mail.to("wim@example.test")
    assert await notifications.send_digests(market.ctx, t) == 1
    assert await notifications.send_digests(market.ctx, t) == 0
    market.app.state.runtime.notify_mail()

    async def mailed() -> bool:
        return len(market.mail.to("wim@example.test")) == 1

    await eventually(mailed)
    text = market.mail.to("wim@example.test")[0].get_content()
    assert "(3)" in text and "vraag" not in text


async def test_balance_figures_for_analysts_only(market: Market, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    people = [person() for _ in range(3)]
    analyst = person()
    await market.setup(t, {p: "DM01" for p in [*people, analyst]})
    for p in people:
        await market.post(t, p, request_body())
    figures = await market.client.get(
        f"{PREFIX}/balance",
        params={"by": "neighbourhood"},
        headers=market.h(t, analyst, gemeente_demo=["analyst"]),
    )
    assert figures.status_code == 200
    body = figures.json()
    assert body["k_anonymity"] == 10 and body["rounding_base"] == 5
    # one row per neighbourhood of the tenant, posted in or not
    rows = {row["neighbourhood_code"]: row for row in body["items"]}
    assert "DM01" in rows and len(rows) > 1
    assert rows["DM01"]["requests"] is None and rows["DM01"]["suppressed"]
    resident = await market.client.get(f"{PREFIX}/balance", headers=market.h(t, people[0]))
    assert resident.status_code == 403


def test_every_operation_declares_its_stance(market: Market) -> None:
    stances = operation_stances(market.app)
    ours = [s for s in stances if s.path.startswith(PREFIX)]
    assert ours and not [s for s in ours if s.stance == "undeclared"]
    # everything here is about people: no machine client may call it
    assert {s.stance for s in ours} == {"person"}
