"""The demo marketplace: ≥ 200 posts over the six neighbourhoods, an open and a closed group
(time credits in one), a broker's posts in residents' access logs, the demo organisations'
vacancies; a second run adds nothing."""

from __future__ import annotations

from collections import Counter

import pytest
from marketplace.adapters.repositories import POSTS
from marketplace.demo.generator import BROKER_ID, OFFLINE_RESIDENT_ID, demo_id
from marketplace.demo_seed import seed_tenant
from mp_harness import PREFIX, Market
from wijkkracht_common.access_log import ACCESS_LOG
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


async def test_demo_seed_is_complete_and_idempotent(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    first = await seed_tenant(market.ctx, t)
    assert "224 posts" in first and "nothing new" not in first
    second = await seed_tenant(market.ctx, t)
    assert second.endswith("(nothing new)")

    db = await market.ctx.db(t)
    posts = await db[POSTS].find({}).to_list(None)
    assert len(posts) == 224
    per_hood = Counter(p["neighbourhood_code"] for p in posts)
    assert set(per_hood) == {"DM01", "DM02", "DM03", "DM04", "DM05", "DM06"}
    assert min(per_hood.values()) >= 30
    kinds = Counter(p["kind"] for p in posts)
    assert kinds["request"] >= 100 and kinds["offer"] >= 100 and kinds["vacancy"] == 6
    assert {p["organisation"] for p in posts if p["kind"] == "vacancy"} == {
        "welzijn-demo",
        "gemeente-demo",
    }
    r = await market.repo(t)
    groups = {g.kind.value: g for g in await r.groups()}
    assert set(groups) == {"open", "closed"}
    assert groups["open"].credits.enabled and not groups["closed"].credits.enabled
    stats = await r.group_statistics(groups["open"].id)
    assert stats.movements > 0 and stats.balance_total == stats.movement_total == 0
    brokered = [p for p in posts if p.get("broker_org")]
    assert brokered and all(p["posted_by"] == BROKER_ID for p in brokered)
    # identity's demo resident who is not online has a request the broker posted for him
    assert OFFLINE_RESIDENT_ID in {p["owner_id"] for p in brokered}
    logged = await db[ACCESS_LOG].find({"actor": BROKER_ID}).to_list(None)
    assert {d["resident"] for d in logged} == {p["owner_id"] for p in brokered}

    # a demo resident of Oeverhoek sees a lively market
    resident = demo_id("resident", "DM01", 3)
    seen = await market.client.get(
        f"{PREFIX}/posts", params={"limit": 100}, headers=market.h(t, resident)
    )
    assert len(seen.json()["items"]) >= 50
    board = await market.client.get(
        f"{PREFIX}/neighbourhoods/DM01/notice-board",
        headers=market.h(t, BROKER_ID, welzijn_demo=["broker"]),
    )
    assert board.status_code == 200 and board.text.count("<article>") >= 10
