"""Anonymous self-assessment: tenant from the path, resume token as the only credential."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration
P = "/questionnaires/v1"


async def test_anonymous_start_resume_submit(qs: Any) -> None:
    # The tenant becomes known when the service is used there (or by identity's event).
    await qs.client.get(f"{P}/instruments", headers=qs.resident())
    base = f"{P}/tenants/{qs.tenants.a}/anonymous-responses"
    r = await qs.client.post(base, json={"instrument_id": "health-simple-language"})
    assert r.status_code == 201, r.text
    started = r.json()
    token, rid = started["resume_token"], started["response"]["id"]
    assert started["response"]["person_id"] is None
    db = await qs.app.state.ctx.db(qs.tenants.a)
    stored = await db["responses"].find_one({"_id": rid})
    assert token not in str(stored)  # only the hash is stored
    auth = {"X-Resume-Token": token}
    answers = qs.answers("health-simple-language")
    first = next(iter(answers))
    r = await qs.client.patch(
        f"{base}/{rid}", json={"answers": {first: answers[first]}}, headers=auth
    )
    assert r.status_code == 200
    assert (await qs.client.get(f"{base}/{rid}", headers=auth)).json()["answers"][first]
    # Wrong or missing token, wrong tenant: 404, nothing revealed.
    assert (
        await qs.client.get(f"{base}/{rid}", headers={"X-Resume-Token": "x"})
    ).status_code == 404
    assert (await qs.client.get(f"{base}/{rid}")).status_code == 404
    r = await qs.client.get(f"{P}/tenants/{qs.tenants.b}/anonymous-responses/{rid}", headers=auth)
    assert r.status_code == 404
    r = await qs.client.post(f"{base}/{rid}/submit", json={"answers": answers}, headers=auth)
    assert r.status_code == 200, r.text
    assert (await qs.client.get(f"{base}/{rid}/chart.svg", headers=auth)).status_code == 200
    assert (await qs.client.post(f"{base}/{rid}/submit", headers=auth)).status_code == 409
    events = await qs.wait_events("response_submitted")
    assert events[0]["data"]["person_id"] is None


async def test_anonymous_bad_tenant_and_bounds(qs: Any) -> None:
    body = {"instrument_id": "health-short"}
    # Unknown tenant, invalid slug, the platform database: 404.
    for tenant in ("onbekend-xyz", "Not_A_Slug", "platform"):
        r = await qs.client.post(f"{P}/tenants/{tenant}/anonymous-responses", json=body)
        assert r.status_code == 404, tenant
    await qs.client.get(f"{P}/instruments", headers=qs.resident())
    base = f"{P}/tenants/{qs.tenants.a}/anonymous-responses"
    r = await qs.client.post(base, json={"instrument_id": "bestaat-niet"})
    assert r.status_code == 404
    r = await qs.client.post(base, json={"instrument_id": "x" * 500})
    assert r.status_code == 422
    r = await qs.client.post(
        base, content=b"{" + b" " * 100_000 + b"}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    started = (await qs.client.post(base, json=body)).json()
    many = {f"q{i}": {"value": 1} for i in range(500)}
    r = await qs.client.patch(
        f"{base}/{started['response']['id']}",
        json={"answers": many},
        headers={"X-Resume-Token": started["resume_token"]},
    )
    assert r.status_code == 422


async def test_anonymous_starts_are_rate_limited(qs: Any) -> None:
    qs.app.state.ctx.settings.anonymous_starts_per_minute = 3
    await qs.client.get(f"{P}/instruments", headers=qs.resident())
    base = f"{P}/tenants/{qs.tenants.a}/anonymous-responses"
    codes = [
        (await qs.client.post(base, json={"instrument_id": "health-short"})).status_code
        for _ in range(5)
    ]
    assert codes == [201, 201, 201, 429, 429]
