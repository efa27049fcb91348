"""Submits arriving together: their reads share `$in` queries (batched_reads.py) and their
writes share transactions (submissions.py), yet every request gets its own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from questionnaires.adapters.batched_reads import BatchedReader
from questionnaires.adapters.documents import RESPONSES
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.main import create_app
from questionnaires.service.context import Context
from questionnaires.settings import Settings
from wijkkracht_common.testing.issuer import TestIssuer

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def test_batched_reads_give_each_caller_its_own_document(qs: Any) -> None:
    me_a = qs.resident("person-x")
    me_b = qs.resident("person-x", tenant=qs.tenants.b)
    in_a = [(await qs.start(me_a, "health-short"))["id"] for _ in range(5)]
    in_b = (await qs.start(me_b, "health-short"))["id"]
    ctx: Context = qs.app.state.ctx
    reader = ctx.response_reads
    before = reader.queries
    asked = [(qs.tenants.a, i) for i in in_a] + [
        (qs.tenants.a, in_a[0]),  # the same id twice at once
        (qs.tenants.a, "missing"),  # no such response
        (qs.tenants.a, in_b),  # tenant B's id asked in tenant A
        (qs.tenants.b, in_b),
        (qs.tenants.b, in_a[1]),  # and the other way round
    ]
    found = await asyncio.gather(*(reader.get(t, i) for t, i in asked))
    # All asked before the first query ran: one query per tenant.
    assert reader.queries - before == 2
    assert [d["_id"] if d else None for d in found] == [*in_a, in_a[0], None, None, in_b, None]
    assert found[5] == found[0] and found[5] is not found[0]  # copies, not one shared dict
    assert found[8] is not None and found[8]["person_id"] == "person-x"

    # Larger than a batch: split over several queries, still one answer per caller.
    small = BatchedReader(ctx.db, RESPONSES, max_batch=2)
    found = await asyncio.gather(*(small.get(qs.tenants.a, i) for i in in_a))
    assert [d["_id"] for d in found if d] == in_a
    assert small.queries == 3


async def test_mixed_concurrent_submits_each_get_their_own_outcome(qs: Any) -> None:
    me = qs.resident("person-m")
    other = qs.resident("person-o")
    me_b = qs.resident("person-m", tenant=qs.tenants.b)
    answers = qs.answers("health-short")
    bad = {**answers, "bf-1": {"value": 11}, "zz": {"value": 1}}

    valid = [(await qs.start(me, "health-short"))["id"] for _ in range(4)]
    invalid = (await qs.start(me, "health-short"))["id"]
    incomplete = (await qs.start(me, "health-short"))["id"]
    twice = (await qs.start(me, "health-short"))["id"]
    keyed = (await qs.start(me, "health-short"))["id"]
    not_mine = (await qs.start(other, "health-short"))["id"]
    in_b = (await qs.start(me_b, "health-short"))["id"]

    def submit(
        rid: str, body: dict[str, Any] | None, headers: dict[str, str], key: str | None = None
    ) -> Any:
        extra = {"Idempotency-Key": key} if key else {}
        return qs.client.post(
            f"{P}/responses/{rid}/submit", json=body, headers={**headers, **extra}
        )

    ctx: Context = qs.app.state.ctx
    reads_before = ctx.response_reads.queries
    calls = [
        *(submit(rid, {"answers": answers}, me) for rid in valid),
        submit(invalid, {"answers": bad}, me),
        submit(incomplete, None, me),
        submit(twice, {"answers": answers}, me),
        submit(twice, {"answers": answers}, me),
        submit(keyed, {"answers": answers}, me, key="k-1"),
        submit(keyed, {"answers": answers}, me, key="k-1"),
        submit(not_mine, {"answers": answers}, me),
        submit("missing", {"answers": answers}, me),
        submit(in_b, {"answers": answers}, me_b),
    ]
    results = await asyncio.gather(*calls)
    status = [r.status_code for r in results]
    assert ctx.response_reads.queries - reads_before < len(calls)  # reads were shared

    assert status[:4] == [200, 200, 200, 200]
    assert [r.json()["id"] for r in results[:4]] == valid
    assert all(r.json()["status"] == "submitted" and r.json()["result"] for r in results[:4])
    # Bad answers: 422 with the per-item errors of exactly those answers.
    assert status[4] == 422
    assert {(e["link_id"], e["code"]) for e in results[4].json()["errors"]} == {
        ("bf-1", "out_of_range"),
        ("zz", "unknown_item"),
    }
    assert status[5] == 422 and {e["code"] for e in results[5].json()["errors"]} == {"required"}
    # The same response twice at once: one wins, the other is 409.
    assert sorted(status[6:8]) == [200, 409]
    loser = results[6] if status[6] == 409 else results[7]
    assert loser.json()["type"].endswith("response-submitted")
    # Twice with one Idempotency-Key: both get the first result, one of them as a replay.
    assert status[8:10] == [200, 200] and results[8].json() == results[9].json()
    assert sorted(r.headers.get("idempotent-replay", "") for r in results[8:10]) == ["", "true"]
    # Someone else's response and an unknown id: 404, nothing revealed.
    assert status[10:12] == [404, 404]
    assert status[12] == 200 and results[12].json()["id"] == in_b

    # Stored as answered: the failed ones are still open, the others submitted.
    for rid, expected in [
        *((v, "submitted") for v in valid),
        (invalid, "in_progress"),
        (incomplete, "in_progress"),
        (twice, "submitted"),
        (keyed, "submitted"),
    ]:
        r = await qs.client.get(f"{P}/responses/{rid}", headers=me)
        assert r.json()["status"] == expected, rid
    assert (await qs.client.get(f"{P}/responses/{not_mine}", headers=other)).json()[
        "status"
    ] == "in_progress"

    # Exactly one response_submitted per submitted response, each in its own tenant.
    submitted = {*valid, twice, keyed}
    await qs.wait_events("response_submitted", count=len(submitted))
    events = await qs.events("response_submitted", settle=1.0)
    assert sorted(e["data"]["response_id"] for e in events) == sorted(submitted)
    in_tenant_b = await qs.wait_events("response_submitted", tenant=qs.tenants.b)
    assert [e["data"]["response_id"] for e in in_tenant_b] == [in_b]


async def test_submits_without_read_batching(
    settings: Settings, test_issuer: TestIssuer, two_tenants: Any, answers_for: Any
) -> None:
    """`batch_reads=False` (WK_BATCH_READS=false): every read is its own query; the outcomes
    are the same."""
    app = create_app(
        settings.model_copy(update={"batch_reads": False}), verifier=test_issuer.verifier()
    )
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client,
    ):
        ctx: Context = app.state.ctx
        assert ctx.response_reads is None
        me = test_issuer.headers(sub="person-n", tenant=two_tenants.a, orgs={"w": ["resident"]})
        started = []
        for _ in range(3):
            r = await client.post(
                f"{P}/responses", json={"instrument_id": "health-short"}, headers=me
            )
            assert r.status_code == 201, r.text
            started.append(r.json()["id"])
        body = {"answers": answers_for(shipped_instrument("health-short"))}
        results = await asyncio.gather(
            *(
                client.post(f"{P}/responses/{rid}/submit", json=body, headers=me)
                for rid in [*started, started[0]]
            )
        )
        status = [r.status_code for r in results]
        assert status[1:3] == [200, 200] and sorted([status[0], status[3]]) == [200, 409]
        for rid in started:
            r = await client.get(f"{P}/responses/{rid}", headers=me)
            assert r.json()["status"] == "submitted"
