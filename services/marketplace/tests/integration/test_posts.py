"""Posts through the real app: publish, read, list, change; tenants apart; bad input as
problems with field errors; Idempotency-Key; pagination."""

from __future__ import annotations

import asyncio
import json

import pytest
from mp_harness import PREFIX, Market, person, request_body
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


async def test_it_starts_and_is_ready(market: Market) -> None:
    assert (await market.client.get("/healthz")).status_code == 200

    async def ready() -> bool:  # on a busy machine a first check may exceed its bound
        return (await market.client.get("/readyz")).status_code == 200

    await eventually(ready)


async def test_a_resident_posts_a_request_in_their_neighbourhood(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, bert = person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM02"})
    made = await market.post(t, anna, request_body(radius_km=2.5))
    assert made.status_code == 201, made.text
    post = made.json()
    assert post["neighbourhood_code"] == "DM01" and post["status"] == "open"
    assert post["mine"] is True and post["owner_id"] == anna

    seen = await market.client.get(f"{PREFIX}/posts/{post['id']}", headers=market.h(t, bert))
    assert seen.status_code == 200
    body = seen.json()
    assert body["mine"] is False and "owner_id" not in body  # no person id to others
    assert body["distance_band"]["code"] == "within_3_km"  # DM01 → DM02: ~1.3 km
    listed = await market.client.get(f"{PREFIX}/posts", headers=market.h(t, bert))
    assert [p["id"] for p in listed.json()["items"]] == [post["id"]]
    # one's own posts are in /posts/mine, not in the market
    own = await market.client.get(f"{PREFIX}/posts", headers=market.h(t, anna))
    assert own.json()["items"] == []
    mine = await market.client.get(f"{PREFIX}/posts/mine", headers=market.h(t, anna))
    assert [p["id"] for p in mine.json()["items"]] == [post["id"]]


async def test_tenant_b_can_neither_read_nor_change_tenant_a_posts(
    market: Market, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a, two_tenants.b
    anna, intruder = person(), person()
    await market.setup(a, {anna: "DM01"})
    await market.setup(b, {intruder: "DM01"})
    post = (await market.post(a, anna, request_body())).json()
    url = f"{PREFIX}/posts/{post['id']}"
    # the same person id in another tenant is another person: still nothing
    for sub in (intruder, anna):
        hb = market.h(b, sub)
        assert (await market.client.get(url, headers=hb)).status_code == 404
        assert (await market.client.patch(url, json={"text": "x"}, headers=hb)).status_code == 404
        assert (await market.client.post(f"{url}/cancellation", headers=hb)).status_code == 404
        assert (await market.client.post(f"{url}/renewal", headers=hb)).status_code == 404
        assert (await market.client.post(f"{url}/responses", headers=hb)).status_code == 404
        assert (await market.client.get(f"{url}/candidates", headers=hb)).status_code == 404
        assert (await market.client.get(f"{url}/responses", headers=hb)).status_code == 404
        listed = await market.client.get(f"{PREFIX}/posts", headers=hb)
        assert listed.json()["items"] == []
    # and it is unchanged for its owner
    mine = await market.client.get(url, headers=market.h(a, anna))
    assert mine.json()["text"] == post["text"] and mine.json()["status"] == "open"


async def test_a_resident_cannot_change_another_residents_post(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, bert = person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM01"})
    post = (await market.post(t, anna, request_body())).json()
    url = f"{PREFIX}/posts/{post['id']}"
    hb = market.h(t, bert)
    assert (
        await market.client.patch(url, json={"text": "mine now"}, headers=hb)
    ).status_code == 404
    assert (await market.client.post(f"{url}/cancellation", headers=hb)).status_code == 404
    assert (await market.client.post(f"{url}/renewal", headers=hb)).status_code == 404
    assert (await market.client.get(f"{url}/candidates", headers=hb)).status_code == 404
    assert (await market.client.get(f"{url}/responses", headers=hb)).status_code == 404
    ha = market.h(t, anna)
    changed = await market.client.patch(url, json={"text": "Hulp bij formulieren"}, headers=ha)
    assert changed.status_code == 200 and changed.json()["text"] == "Hulp bij formulieren"
    cancelled = await market.client.post(f"{url}/cancellation", headers=ha)
    assert cancelled.json()["status"] == "cancelled"
    again = await market.client.post(f"{url}/cancellation", headers=ha)
    assert again.status_code == 409 and again.json()["type"].endswith("post-closed")


async def test_bad_input_is_a_422_problem_with_field_errors(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna = person()
    await market.setup(t, {anna: "DM01"})
    cases = [
        (request_body(category="astrologie"), "category"),
        (request_body(radius_km=0.1), "radius_km"),
        (request_body(radius_km=500), "radius_km"),
        (request_body(text=""), "text"),
        (request_body(text="x" * 501), "text"),
        (request_body(when={"timing": "once"}), "when"),
        (request_body(visibility="group"), "group_id"),
        (
            {"kind": "vacancy", "category": "vrijwilligerswerk", "text": "Kom helpen"},
            "organisation",
        ),
        (request_body(neighbourhood_code="DM02"), "neighbourhood_code"),
    ]
    for body, field in cases:
        made = await market.post(t, anna, body)
        assert made.status_code == 422, (body, made.text)
        assert made.headers["content-type"].startswith("application/problem+json")
        fields = [e["field"] for e in made.json()["errors"]]
        assert any(f.startswith(field) for f in fields), (field, fields)


async def test_a_resident_without_a_known_neighbourhood_gets_409(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await market.setup(t, {})
    made = await market.post(t, person(), request_body())
    assert made.status_code == 409 and made.json()["type"].endswith("neighbourhood-unknown")


async def test_machine_tokens_are_refused(market: Market, two_tenants: TwoTenants) -> None:
    headers = market.issuer.headers(sub="client:c1", tenant=two_tenants.a)
    made = await market.client.post(f"{PREFIX}/posts", json=request_body(), headers=headers)
    assert made.status_code == 403
    assert (await market.client.get(f"{PREFIX}/posts", headers=headers)).status_code == 403


async def test_idempotency_key_returns_the_first_post(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna = person()
    await market.setup(t, {anna: "DM03"})
    headers = {**market.h(t, anna), "Idempotency-Key": "k-1"}
    first = await market.client.post(f"{PREFIX}/posts", json=request_body(), headers=headers)
    second = await market.client.post(f"{PREFIX}/posts", json=request_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("idempotent-replay") == "true"
    mine = await market.client.get(f"{PREFIX}/posts/mine", headers=market.h(t, anna))
    assert len(mine.json()["items"]) == 1
    other = await market.client.post(
        f"{PREFIX}/posts", json=request_body(text="anders"), headers=headers
    )
    assert other.status_code == 422


async def test_lists_are_paginated_with_a_cursor(market: Market, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    anna, bert = person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM01"})
    made = [
        (await market.post(t, anna, request_body(text=f"vraag {i}"))).json()["id"] for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await market.client.get(f"{PREFIX}/posts", params=params, headers=market.h(t, bert))
        assert page.status_code == 200
        seen += [p["id"] for p in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))  # newest first, each once
    bad = await market.client.get(
        f"{PREFIX}/posts", params={"cursor": "!!"}, headers=market.h(t, bert)
    )
    assert bad.status_code == 422
    too_many = await market.client.get(
        f"{PREFIX}/posts", params={"limit": 1000}, headers=market.h(t, bert)
    )
    assert too_many.status_code == 422


async def test_renewal_and_expiry(market: Market, two_tenants: TwoTenants) -> None:
    from marketplace.service import expiry

    t = two_tenants.a
    anna = person()
    await market.setup(t, {anna: "DM01"})
    post = (await market.post(t, anna, request_body(lifetime_days=10))).json()
    url = f"{PREFIX}/posts/{post['id']}"
    market.clock.advance(8)  # 2 days left: the owner is reminded
    assert await expiry.sweep_tenant(market.ctx, t) == (1, 0)
    assert await expiry.sweep_tenant(market.ctx, t) == (0, 0)  # once
    notes = await market.client.get(f"{PREFIX}/me/notifications", headers=market.h(t, anna))
    assert [n["kind"] for n in notes.json()["items"]] == ["expiry_soon"]
    renewed = await market.client.post(f"{url}/renewal", headers=market.h(t, anna))
    assert renewed.status_code == 200 and renewed.json()["reminded_at"] is None
    market.clock.advance(31)
    assert await expiry.sweep_tenant(market.ctx, t) == (0, 1)
    gone = await market.client.get(url, headers=market.h(t, anna))
    assert gone.json()["status"] == "expired"
    # renewing an expired post puts it back on the market
    back = await market.client.post(f"{url}/renewal", headers=market.h(t, anna))
    assert back.json()["status"] == "open"


async def test_concurrent_posts_share_transactions_and_each_is_stored_with_its_event(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    people = [person() for _ in range(24)]
    await market.setup(t, {p: ("DM01", "DM02")[i % 2] for i, p in enumerate(people)})
    before = market.ctx.publications.transactions
    bodies = [
        request_body() if i % 2 else {**request_body(), "kind": "offer"} for i in range(len(people))
    ]
    sent = (market.post(t, p, b) for p, b in zip(people, bodies, strict=True))
    made = await asyncio.gather(*sent)
    assert [m.status_code for m in made] == [201] * len(people)
    # fewer transactions than posts (group commit), and every post stored with its event
    assert market.ctx.publications.transactions - before < len(people)
    r = await market.repo(t)
    for m in made:
        assert await r.get_post(m.json()["id"]) is not None
    ids = {m.json()["id"] for m in made}
    offers = {m.json()["id"] for m in made if m.json()["kind"] == "offer"}
    buckets = [
        *(await r.open_offers(["administratie"], "DM01")),
        *(await r.open_offers(["administratie"], "DM02")),
    ]
    assert offers <= {o.id for o in buckets}

    async def all_published() -> bool:
        sub = await market.js.pull_subscribe(
            f"wk.{t}.marketplace.post_published.v1", durable=None, stream="MARKETPLACE"
        )
        seen: set[str] = set()
        try:
            while True:
                for msg in await sub.fetch(100, timeout=2):
                    seen.add(json.loads(msg.data)["data"]["post_id"])
        except Exception:
            pass
        finally:
            await sub.unsubscribe()
        return ids <= seen

    await eventually(all_published)
