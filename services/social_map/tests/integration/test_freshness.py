from __future__ import annotations

import re

import pytest
from conftest import PREFIX, Api
from helpers import entry, eventually
from social_map.service.freshness import sweep_tenant
from wijkkracht_common.testing.plugin import MailSink, TwoTenants

pytestmark = pytest.mark.integration
EVENT = "nl.wijkkracht.social_map.{}.v1"


async def _types(api: Api, tenant: str) -> list[str]:
    db = await api.app.state.ctx.db(tenant)
    return [d["type"].split(".")[3] async for d in db["outbox"].find({}).sort("_id", 1)]


async def test_entries_age_hide_and_come_back_by_link(
    api: Api, two_tenants: TwoTenants, mail_sink: MailSink
) -> None:
    t = two_tenants.a
    owner_mail = f"owner-{t}@example.nl"
    admin = api.headers(t, org_a=["org_admin"])
    resident = api.headers(t, sub="p-res", org_a=["resident"])
    r = await api.client.post(f"{PREFIX}/entries", json=entry(email=owner_mail), headers=admin)
    entry_id = r.json()["entry"]["id"]
    ctx = api.app.state.ctx

    async def sweep(_: object) -> int:  # this tenant only: other tests' tenants share the DB
        return await sweep_tenant(ctx, t, api.clock())

    async def found() -> list[dict[str, object]]:
        r = await api.client.get(f"{PREFIX}/search", params={"q": "wandelen"}, headers=resident)
        assert r.status_code == 200
        return list(r.json()["items"])

    assert await sweep(ctx) == 0  # fresh: nothing to announce
    api.clock.advance(151)
    assert await sweep(ctx) == 1
    assert await sweep(ctx) == 0  # idempotent: a repeated sweep announces nothing
    assert (await _types(api, t))[-1] == "entry_verification_due"

    await eventually(lambda: _has_mail(mail_sink, owner_mail))
    text = mail_sink.to(owner_mail)[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"http://t(/social-map/v1/verification/\S+)", text)
    assert link is not None
    page = await api.client.get(link.group(1))
    assert page.status_code == 200 and "<form" in page.text and 'method="post"' in page.text
    body = (await api.client.get(f"{PREFIX}/entries/{entry_id}", headers=admin)).json()
    assert body["freshness"] == "due"  # the GET (a mail scanner's prefetch) verified nothing
    confirmed = await api.client.post(link.group(1))
    assert confirmed.status_code == 200 and "Bevestigd" in confirmed.text
    body = (await api.client.get(f"{PREFIX}/entries/{entry_id}", headers=admin)).json()
    assert body["freshness"] == "fresh"
    assert (await _types(api, t))[-1] == "entry_verified"
    assert (await api.client.post(link.group(1))).status_code == 410  # used: entry changed
    assert (await api.client.get(f"{PREFIX}/verification/v1.bad.token")).status_code == 404

    api.clock.advance(200)  # past stale (180): reminder and stale warning in one sweep
    assert await sweep(ctx) == 1
    assert (await _types(api, t))[-2:] == ["entry_verification_due", "entry_went_stale"]
    hits = await found()
    assert len(hits) == 1 and hits[0]["freshness"] == "stale" and hits[0]["stale_warning"]

    api.clock.advance(80)  # 280 days: hidden
    assert await sweep(ctx) == 1
    assert (await _types(api, t))[-1] == "entry_hidden"
    assert await found() == []
    r = await api.client.get(f"{PREFIX}/entries/{entry_id}", headers=resident)
    assert r.status_code == 404
    overview = (await api.client.get(f"{PREFIX}/freshness", headers=admin)).json()["items"]
    assert overview[0]["organization_id"] == "org-a" and overview[0]["counts"]["hidden"] == 1

    r = await api.client.post(f"{PREFIX}/entries/{entry_id}/verification", headers=admin)
    assert r.status_code == 200
    assert len(await found()) == 1  # re-verified: back in search


async def _has_mail(sink: MailSink, to: str) -> bool:
    return bool(sink.to(to))


async def test_policy_is_per_tenant_and_validated(api: Api, two_tenants: TwoTenants) -> None:
    manager = api.headers(two_tenants.a, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    url = f"{PREFIX}/freshness-policy"
    r = await api.client.put(
        url,
        json={"remind_after_days": 90, "stale_after_days": 60, "hidden_after_days": 200},
        headers=manager,
    )
    assert r.status_code == 422
    policy = {"remind_after_days": 30, "stale_after_days": 60, "hidden_after_days": 90}
    assert (await api.client.put(url, json=policy, headers=manager)).status_code == 200
    admin = api.headers(two_tenants.a, org_a=["org_admin"])
    assert (await api.client.put(url, json=policy, headers=admin)).status_code == 403
    other = api.headers(two_tenants.b, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    assert (await api.client.get(url, headers=other)).json()["remind_after_days"] == 150
