"""The access log names, for every staff access to a resident's data, the organisation on
whose behalf it happened, also in the `access.recorded` event identity shows the resident."""

from __future__ import annotations

import json
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from wijkkracht_common.events.identity import ConsentGranted

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def access_events(qs: Any, resident: str) -> list[dict[str, Any]]:
    nc = await nats.connect(qs.nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            f"wk.{qs.tenants.a}.access.>", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        )
        found: list[dict[str, Any]] = []
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            for m in msgs:
                event = json.loads(m.data)
                if event["data"]["resident"] == resident:
                    found.append(event["data"])
                await m.ack()
        await sub.unsubscribe()
        return found
    finally:
        await nc.drain()


async def test_a_professionals_read_is_logged_on_behalf_of_their_organisation(
    qs: Any, eventually_: Any
) -> None:
    resident = qs.resident("person-al1")
    pro = qs.professional("person-p1", org="de-smd")
    done = await qs.fill_and_submit(resident, "health-short")
    await qs.publish(
        ConsentGranted(person_id="person-al1", organisation_slug="de-smd", purpose="share_results")
    )

    async def visible() -> bool:
        r = await qs.client.get(f"{P}/responses/{done['id']}", headers=pro)
        return r.status_code == 200

    await eventually_(visible)
    db = await qs.app.state.ctx.db(qs.tenants.a)
    [entry] = await db["access_log"].find({"resident": "person-al1"}).to_list(None)
    assert (entry["actor"], entry["on_behalf_of"], entry["action"], entry["reason"]) == (
        "person-p1",
        "de-smd",
        "read",
        "share_results",
    )
    assert entry["resource"] == f"response/{done['id']}/answers"

    async def published() -> list[dict[str, Any]]:
        return await access_events(qs, "person-al1")

    [event] = await eventually_(published)
    assert (event["actor"], event["on_behalf_of"], event["service"]) == (
        "person-p1",
        "de-smd",
        "questionnaires",
    )


async def test_staff_handling_invitations_and_assisted_responses_is_logged(qs: Any) -> None:
    pro = qs.professional("person-p1", org="de-smd")
    r = await qs.client.post(
        f"{P}/invitations",
        json={"organisation": "de-smd", "instrument_id": "health-short", "person_id": "person-al2"},
        headers=pro,
    )
    assert r.status_code == 201
    assert (
        await qs.client.get(f"{P}/invitations/{r.json()['id']}", headers=pro)
    ).status_code == 200
    started = await qs.start(pro, "health-short", person_id="person-al2", organisation="de-smd")
    r = await qs.client.post(
        f"{P}/responses/{started['id']}/submit",
        json={"answers": qs.answers("health-short")},
        headers=pro,
    )
    assert r.status_code == 200
    db = await qs.app.state.ctx.db(qs.tenants.a)
    logged = await db["access_log"].find({"resident": "person-al2"}).to_list(None)
    assert sorted((e["action"], e["reason"]) for e in logged) == [
        ("create", "assisted"),
        ("create", "invitation"),
        ("read", "invitation"),
        ("update", "assisted"),
    ]
    assert {e["on_behalf_of"] for e in logged} == {"de-smd"}
