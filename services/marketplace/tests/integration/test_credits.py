"""Time credits on the real database: hundreds of simultaneous transfers (and retries of
the same Idempotency-Key racing each other) never cross a limit, never post twice, and the
ledger sums to zero; reversal is the only correction; bad transfers are 422 problems;
transfers across groups only where both allow it."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import httpx
import pytest
from marketplace.adapters.repositories import ACCOUNTS, MOVEMENTS, TRANSFERS
from mp_harness import PREFIX, Market, person
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


async def credit_group(market: Market, tenant: str, mod: str, **credits: object) -> str:
    made = await market.client.post(
        f"{PREFIX}/groups",
        json={"name": "Kring", "kind": "open", "credits": {"enabled": True, **credits}},
        headers=market.h(tenant, mod),
    )
    assert made.status_code == 201, made.text
    gid: str = made.json()["id"]
    return gid


async def test_hundreds_of_simultaneous_transfers_keep_every_invariant(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    people = [person() for _ in range(8)]
    mod = person()
    await market.setup(t, {p: "DM01" for p in [*people, mod]})
    gid = await credit_group(market, t, mod, min_balance=-4, max_balance=6)
    for p in people:
        await market.client.post(f"{PREFIX}/groups/{gid}/membership", headers=market.h(t, p))
    rng = random.Random(13)
    plans = []
    for i in range(300):
        payer, payee = rng.sample(people, 2)
        plans.append((payer, payee, rng.randint(1, 4), f"key-{i}"))
    # every fifth transfer is sent twice at once with the same key (a client's retry)
    sends = plans + [p for i, p in enumerate(plans) if i % 5 == 0]
    rng.shuffle(sends)

    async def send(payer: str, payee: str, amount: int, key: str) -> httpx.Response:
        return await market.client.post(
            f"{PREFIX}/groups/{gid}/transfers",
            json={"to_person_id": payee, "amount": amount},
            headers={**market.h(t, payer), "Idempotency-Key": key},
        )

    responses = await asyncio.gather(*(send(*p) for p in sends))
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] > 0 and statuses[409] > 0  # both happened: the limits bit
    refused = [r for r in responses if r.status_code == 409]
    assert all(r.json()["type"].endswith("balance-limit") for r in refused)

    db = await market.ctx.db(t)
    transfers = await db[TRANSFERS].find({}).to_list(None)
    movements = await db[MOVEMENTS].find({}).to_list(None)
    accounts = await db[ACCOUNTS].find({}).to_list(None)
    # no double posting: one transfer per key at most, two movements each
    booked_keys = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(transfers) == len(booked_keys) and len(movements) == 2 * len(transfers)
    per_transfer: Counter[str] = Counter()
    per_account: Counter[str] = Counter()
    for m in movements:
        per_transfer[m["transfer_id"]] += m["amount"]
        per_account[m["person_id"]] += m["amount"]
    assert set(per_transfer.values()) == {0}
    assert sum(a["balance"] for a in accounts) == 0
    for account in accounts:
        assert -4 <= account["balance"] <= 6
        assert account["balance"] == per_account[account["person_id"]]
    ledger = await market.client.get(f"{PREFIX}/groups/{gid}/ledger", headers=market.h(t, mod))
    stats = ledger.json()["statistics"]
    assert stats["balance_total"] == stats["movement_total"] == 0
    assert stats["transfers_within"] == len(transfers)


async def test_bad_transfers_are_422_with_field_errors(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, bert, mod = person(), person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM01", mod: "DM01"})
    gid = await credit_group(market, t, mod)
    for p in (anna, bert):
        await market.client.post(f"{PREFIX}/groups/{gid}/membership", headers=market.h(t, p))

    async def pay(body: dict[str, object], key: str | None = "k") -> httpx.Response:
        headers = market.h(t, anna) | ({"Idempotency-Key": key} if key else {})
        return await market.client.post(
            f"{PREFIX}/groups/{gid}/transfers", json=body, headers=headers
        )

    cases = [
        ({"to_person_id": anna, "amount": 1}, "to_person_id"),
        ({"to_person_id": bert, "amount": 0}, "amount"),
        ({"to_person_id": bert, "amount": -3}, "amount"),
        ({"to_person_id": bert, "amount": "veel"}, "amount"),
        ({"to_person_id": person(), "amount": 1}, "to_person_id"),
    ]
    for body, field in cases:
        got = await pay(body)
        assert got.status_code == 422, (body, got.text)
        assert any(e["field"] == field for e in got.json()["errors"]), got.json()
    no_key = await pay({"to_person_id": bert, "amount": 1}, key=None)
    assert no_key.status_code == 422
    assert no_key.json()["errors"][0]["field"] == "header.idempotency-key"


async def test_reversal_is_the_only_correction_and_happens_once(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, bert, mod = person(), person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM01", mod: "DM01"})
    gid = await credit_group(market, t, mod)
    for p in (anna, bert):
        await market.client.post(f"{PREFIX}/groups/{gid}/membership", headers=market.h(t, p))
    paid = await market.client.post(
        f"{PREFIX}/groups/{gid}/transfers",
        json={"to_person_id": bert, "amount": 3},
        headers={**market.h(t, anna), "Idempotency-Key": "x"},
    )
    tid = paid.json()["id"]
    url = f"{PREFIX}/groups/{gid}/transfers/{tid}/reversal"
    assert (await market.client.post(url, headers=market.h(t, anna))).status_code == 404
    first = await market.client.post(url, headers=market.h(t, mod))
    second = await market.client.post(url, headers=market.h(t, mod))
    assert first.status_code == 201 and first.json()["reverses"] == tid
    assert second.json()["id"] == first.json()["id"]
    assert second.headers.get("idempotent-replay") == "true"
    for p in (anna, bert):
        balance = await market.client.get(f"{PREFIX}/groups/{gid}/balance", headers=market.h(t, p))
        assert balance.json()["balance"] == 0
    mine = await market.client.get(f"{PREFIX}/transfers/mine", headers=market.h(t, anna))
    assert len(mine.json()["items"]) == 2  # the original and its reversal, both kept


async def test_transfers_across_groups_only_when_both_allow_it(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    anna, bert, mod = person(), person(), person()
    await market.setup(t, {anna: "DM01", bert: "DM02", mod: "DM01"})
    g1 = await credit_group(market, t, mod, cross_group=True)
    g2 = await credit_group(market, t, mod, cross_group=False)
    await market.client.post(f"{PREFIX}/groups/{g1}/membership", headers=market.h(t, anna))
    await market.client.post(f"{PREFIX}/groups/{g2}/membership", headers=market.h(t, bert))

    async def pay(key: str) -> httpx.Response:
        return await market.client.post(
            f"{PREFIX}/groups/{g1}/transfers",
            json={"to_person_id": bert, "amount": 2, "to_group_id": g2},
            headers={**market.h(t, anna), "Idempotency-Key": key},
        )

    refused = await pay("a")
    assert refused.status_code == 409 and refused.json()["type"].endswith("cross-group-not-allowed")
    allowed = await market.client.patch(
        f"{PREFIX}/groups/{g2}",
        json={"credits": {"enabled": True, "cross_group": True}},
        headers=market.h(t, mod),
    )
    assert allowed.status_code == 200
    assert (await pay("b")).status_code == 201
    s1 = (await market.client.get(f"{PREFIX}/groups/{g1}/ledger", headers=market.h(t, mod))).json()
    s2 = (await market.client.get(f"{PREFIX}/groups/{g2}/ledger", headers=market.h(t, mod))).json()
    assert s1["statistics"]["outflow"] == 2 and s1["statistics"]["balance_total"] == -2
    assert s2["statistics"]["inflow"] == 2 and s2["statistics"]["balance_total"] == 2
    # members may not read the ledger of everyone
    assert (
        await market.client.get(f"{PREFIX}/groups/{g1}/ledger", headers=market.h(t, anna))
    ).status_code == 404
