"""The social map's taxonomy and entries as projections of its events (real NATS + database):
posts take only the projected taxonomy's categories (422 with a field error otherwise), a newer
taxonomy replaces the older, a late one is ignored, and an import batch's entries become
candidates without a fetch."""

from __future__ import annotations

from typing import Any

import pytest
from marketplace.demo.taxonomy import default_taxonomy
from mp_harness import PREFIX, Market, person, request_body
from wijkkracht_common.events.social_map import (
    EntriesImported,
    ImportedEntryFacts,
    TaxonomyChanged,
    TaxonomyTermFacts,
)
from wijkkracht_common.inbox import INBOX
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration

KLUSSEN = TaxonomyTermFacts(
    code="klussen",
    parent_code="wonen",
    labels={"nl": "Klussen in huis", "en": "Odd jobs"},
    dimensions=["daily_functioning"],
)


def with_klussen(version: int) -> TaxonomyChanged:
    return TaxonomyChanged(version=version, terms=[*default_taxonomy().terms, KLUSSEN])


async def codes(market: Market, tenant: str, who: str) -> dict[str, Any]:
    listed = await market.client.get(f"{PREFIX}/categories", headers=market.h(tenant, who))
    assert listed.status_code == 200
    return {c["code"]: c for c in listed.json()["items"]}


async def test_posts_take_the_categories_of_the_projected_taxonomy(
    market: Market, two_tenants: TwoTenants
) -> None:
    t, other = two_tenants.a, two_tenants.b
    anna, bert = person(), person()
    await market.setup(t, {anna: "DM01"})
    await market.setup(other, {bert: "DM01"})
    refused = await market.post(t, anna, request_body(category="klussen"))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["category"]

    await market.publish(with_klussen(1), t, subject="taxonomy")

    async def known() -> bool:
        return "klussen" in await codes(market, t, anna)

    await eventually(known)
    assert (await market.post(t, anna, request_body(category="klussen"))).status_code == 201
    # the other tenant's taxonomy did not change
    assert "klussen" not in await codes(market, other, bert)
    refused = await market.post(other, bert, request_body(category="klussen"))
    assert refused.status_code == 422

    # a late event of an older version changes nothing
    late = await market.publish(default_taxonomy(), t, subject="taxonomy")
    db = await market.ctx.db(t)

    async def applied() -> bool:
        return await db[INBOX].count_documents({"_id": {"$in": inbox_ids(late.id)}}) > 0

    await eventually(applied)
    market.ctx.invalidate(t)
    assert "klussen" in await codes(market, t, anna)

    # a newer version without it removes it
    await market.publish(default_taxonomy(version=2), t, subject="taxonomy")

    async def gone() -> bool:
        market.ctx.invalidate(t)
        return "klussen" not in await codes(market, t, anna)

    await eventually(gone)
    refused = await market.post(t, anna, request_body(category="klussen"))
    assert refused.status_code == 422


def inbox_ids(event_id: str) -> list[str]:
    durable = "marketplace__social_map_taxonomy_changed_v1"
    return [f"{durable}:{event_id}"]


async def test_an_import_batch_gives_candidates_without_a_fetch(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    piet = person()
    await market.setup(t, {piet: "DM01"})
    facts = [
        ImportedEntryFacts(
            entry_id="imp-walk",
            organization_id="o1",
            owner_organisation="welzijn-demo",
            kind="activity",
            category_codes=["wandelen"],
            pc4s=["9903"],
            status="active",
            freshness="fresh",
            revision=1,
        ),
        ImportedEntryFacts(
            entry_id="imp-stale",
            organization_id="o2",
            kind="activity",
            category_codes=["wandelen"],
            pc4s=["9903"],
            status="active",
            freshness="stale",
            revision=1,
        ),
        ImportedEntryFacts(
            entry_id="imp-closed",
            organization_id="o3",
            kind="activity",
            category_codes=["wandelen"],
            pc4s=["9903"],
            status="inactive",
            revision=1,
        ),
    ]
    await market.publish(
        EntriesImported(
            import_id="i1",
            batch=0,
            published=[f.entry_id for f in facts],
            entries=facts,
        ),
        t,
        subject="i1:0",
    )

    async def projected() -> bool:
        r = await market.repo(t)
        return all([await r.map_entry(f.entry_id) is not None for f in facts])

    await eventually(projected)
    post = (await market.post(t, piet, request_body(category="wandelen"))).json()
    found = await market.client.get(
        f"{PREFIX}/posts/{post['id']}/candidates", headers=market.h(t, piet)
    )
    refs = [(x["kind"], x["ref_id"]) for x in found.json()["items"]]
    # stale and closed entries are never suggested
    assert refs == [("map_entry", "imp-walk")]
