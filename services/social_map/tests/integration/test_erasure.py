"""A resident's erasure: their own data goes, their outdated-reports stay without them."""

from __future__ import annotations

import json

import pytest
from conftest import PREFIX, Api
from helpers import entry, eventually
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


async def test_erasure_takes_the_reporter_out_of_tasks_and_entries(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    admin = api.headers(t, org_a=["org_admin"])
    entry_ids = []
    for name in ("Wandelgroep Oeverhoek", "Taalcafé Molenweide"):
        r = await api.client.post(f"{PREFIX}/entries", json=entry(name=name), headers=admin)
        assert r.status_code == 201, r.text
        entry_ids.append(r.json()["entry"]["id"])
    for sub in ("p-piet", "p-other"):
        reporter = api.headers(t, sub=sub, org_a=["resident"])
        r = await api.client.post(
            f"{PREFIX}/entries/{entry_ids[0]}/reports",
            json={"note": "Tijden kloppen niet"},
            headers=reporter,
        )
        assert r.status_code == 201, r.text
    piet = api.headers(t, sub="p-piet", org_a=["resident"])
    r = await api.client.post(
        f"{PREFIX}/entries/{entry_ids[1]}/reports", json={"note": "Verhuisd"}, headers=piet
    )
    assert r.status_code == 201, r.text
    db = await api.app.state.ctx.db(t)
    before = {
        e: (await api.client.get(f"{PREFIX}/entries/{e}", headers=admin)).json() for e in entry_ids
    }

    await api.publish(
        new_event(PersonErasureRequested(person_id="p-piet"), tenant=t, subject="p-piet")
    )

    # nx-27017 shows a transaction's writes before it commits: wait for its last write (the
    # confirmation in the outbox) and the others, not for the first one to show.
    async def done() -> bool:
        return (
            await db["outbox"].count_documents(
                {"type": "nl.wijkkracht.social_map.person_data_erased.v1"}
            )
            == 1
            and await db["tasks"].count_documents({"reporter": "p-piet"}) == 0
            and "p-piet" not in str(await db["entries"].find({}).to_list(None))
        )

    await eventually(done)

    raw = await db["entries"].find({}).to_list(None)
    assert "p-piet" not in str(raw)  # nowhere in any entry document
    replaced = {
        r["reporter"]
        for d in raw
        for r in json.loads(d["entry"])["outdated_reports"]
        if r["reporter"] != "p-other"
    }
    assert len(replaced) == 1 and next(iter(replaced)).startswith("erased-")
    tasks = await db["tasks"].find({}).to_list(None)
    assert {x["reporter"] for x in tasks} == {"p-other", *replaced}  # the same new id
    for e in entry_ids:  # the reports and what they do to freshness stay
        after = (await api.client.get(f"{PREFIX}/entries/{e}", headers=admin)).json()
        assert len(after["open_reports"]) == len(before[e]["open_reports"])
        assert after["freshness"] == before[e]["freshness"]
        assert [x["note"] for x in after["open_reports"]] == [
            x["note"] for x in before[e]["open_reports"]
        ]

    confirmed = await db["outbox"].find_one(
        {"type": "nl.wijkkracht.social_map.person_data_erased.v1"}
    )
    assert confirmed is not None
    assert '"entries":2' in confirmed["payload"] and '"tasks":2' in confirmed["payload"]
