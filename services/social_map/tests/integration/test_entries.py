from __future__ import annotations

import pytest
from conftest import PREFIX, Api
from helpers import entry
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


async def _publish(api: Api, tenant: str, **overrides: object) -> str:
    r = await api.client.post(
        f"{PREFIX}/entries",
        json=entry(**overrides),
        headers=api.headers(tenant, org_a=["org_admin"]),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["entry"]["id"])


async def test_org_admin_publishes_and_anyone_reads(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    entry_id = await _publish(api, t)
    resident = api.headers(t, sub="p-res", org_a=["resident"])
    r = await api.client.get(f"{PREFIX}/entries/{entry_id}", headers=resident)
    assert r.status_code == 200
    body = r.json()
    assert body["freshness"] == "fresh" and body["can_manage"] is False
    assert "open_reports" not in body and "assured_by" not in body["entry"]
    db = await api.app.state.ctx.db(t)
    subject = f"wk.{t}.social_map.entry_published.v1"
    outbox = await db["outbox"].find({"subject": subject}).to_list(None)
    assert len(outbox) == 1


async def test_permissions(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    entry_id = await _publish(api, t)
    url = f"{PREFIX}/entries/{entry_id}"
    changed = entry(name="Wandelgroep Oeverhoek (nieuw)")
    resident = api.headers(t, sub="p-res", org_a=["resident"])
    other_admin = api.headers(t, sub="p-b", org_b=["org_admin"])
    manager = api.headers(t, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    for headers in (resident, other_admin):
        r = await api.client.put(url, json=changed, headers=headers)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await api.client.post(f"{url}/verification", headers=headers)
        assert r.status_code == 403
    # org B cannot create entries for org A's owner record either
    r = await api.client.post(f"{PREFIX}/entries", json=entry(), headers=other_admin)
    assert r.status_code == 403, r.text
    # a resident cannot create entries at all (no owner record of their own)
    r = await api.client.post(
        f"{PREFIX}/entries", json=entry(organization_id="elsewhere"), headers=resident
    )
    assert r.status_code == 422
    r = await api.client.put(url, json=changed, headers=manager)
    assert r.status_code == 200, r.text
    assert r.json()["entry"]["name"] == "Wandelgroep Oeverhoek (nieuw)"
    assert r.json()["entry"]["revision"] == 1
    r = await api.client.get(f"{PREFIX}/entries/{entry_id}")
    assert r.status_code == 401


async def test_tenant_isolation(api: Api, two_tenants: TwoTenants) -> None:
    entry_id = await _publish(api, two_tenants.a)
    other = api.headers(two_tenants.b, org_a=["org_admin", "neighbourhood_manager"])
    r = await api.client.get(f"{PREFIX}/entries/{entry_id}", headers=other)
    assert r.status_code == 404
    r = await api.client.put(f"{PREFIX}/entries/{entry_id}", json=entry(), headers=other)
    assert r.status_code == 404
    r = await api.client.post(
        f"{PREFIX}/entries/{entry_id}/reports", json={"note": "x"}, headers=other
    )
    assert r.status_code == 404
    r = await api.client.get(f"{PREFIX}/search", params={"q": "wandelen"}, headers=other)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await api.client.get(
        f"{PREFIX}/search",
        params={"q": "wandelen"},
        headers=api.headers(two_tenants.a, sub="p-r", org_a=["resident"]),
    )
    assert [h["entry"]["id"] for h in r.json()["items"]] == [entry_id]
    r = await api.client.get(f"{PREFIX}/tasks", headers=other)
    assert r.json()["items"] == []


def _fields(response: object) -> set[str]:
    body = response.json()  # type: ignore[attr-defined]
    assert response.status_code == 422, body  # type: ignore[attr-defined]
    assert body["type"].startswith("urn:wijkkracht:problem:")
    return {e["field"] for e in body["errors"]}


async def test_bad_input_is_422_with_field_errors(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    admin = api.headers(t, org_a=["org_admin"])
    bad_geo = entry()
    bad_geo["service_at_locations"] = [
        {"id": "s", "location": {"id": "l", "latitude": 123.0, "longitude": 4.8}}
    ]
    fields = _fields(await api.client.post(f"{PREFIX}/entries", json=bad_geo, headers=admin))
    assert any("latitude" in f for f in fields), fields
    r = await api.client.post(
        f"{PREFIX}/entries", json=entry(category_codes=["vliegeren"]), headers=admin
    )
    assert _fields(r) == {"category_codes[0]"}
    bad_rule = entry(schedules=[{"id": "s1", "rrule": "FREQ=SOMETIMES", "dtstart": "2024-01-01"}])
    fields = _fields(await api.client.post(f"{PREFIX}/entries", json=bad_rule, headers=admin))
    assert any("rrule" in f for f in fields), fields
    search = f"{PREFIX}/search"
    for params, field in (
        ({"lat": 52.46, "lon": 4.81, "radius_km": 80}, "radius_km"),
        ({"lat": 52.46, "lon": 4.81, "radius_km": 0}, "radius_km"),
        ({"lat": 95, "lon": 4.81}, "lat"),
        ({"lat": 52.46}, "lon"),
        ({"category": "vliegeren"}, "category"),
        ({"pc4": "1234"}, "pc4"),
        ({"weekday": 9}, "weekday"),
        ({"time_from": "10:00", "time_to": "09:00", "weekday": 1}, "time_to"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
    ):
        r = await api.client.get(search, params=params, headers=admin)
        assert field in " ".join(_fields(r)), (params, r.json())
    # never a 500 for garbage
    r = await api.client.post(f"{PREFIX}/entries", content=b"{nope", headers=admin)
    assert r.status_code == 422


async def test_report_outdated_becomes_a_task_and_verification_closes_it(
    api: Api, two_tenants: TwoTenants, mail_sink: object
) -> None:
    t = two_tenants.a
    entry_id = await _publish(api, t)
    resident = api.headers(t, sub="p-res", org_a=["resident"])
    r = await api.client.post(
        f"{PREFIX}/entries/{entry_id}/reports",
        json={"note": "Ze lopen nu op woensdag"},
        headers=resident,
    )
    assert r.status_code == 201, r.text
    admin = api.headers(t, org_a=["org_admin"])
    tasks = (await api.client.get(f"{PREFIX}/tasks", headers=admin)).json()["items"]
    assert [x["note"] for x in tasks] == ["Ze lopen nu op woensdag"]
    assert "reporter" not in tasks[0]
    body = (await api.client.get(f"{PREFIX}/entries/{entry_id}", headers=admin)).json()
    assert body["freshness"] == "due" and len(body["open_reports"]) == 1
    db = await api.app.state.ctx.db(t)
    types = [d["type"] async for d in db["outbox"].find({}).sort("_id", 1)]
    assert "nl.wijkkracht.social_map.correction_reported.v1" in types
    assert "nl.wijkkracht.social_map.entry_verification_due.v1" in types
    reported = await db["outbox"].find_one(
        {"type": "nl.wijkkracht.social_map.correction_reported.v1"}
    )
    assert "woensdag" not in reported["payload"]  # no free text in events
    # other organisations' admins do not see the task
    other = api.headers(t, sub="p-b", org_b=["org_admin"])
    assert (await api.client.get(f"{PREFIX}/tasks", headers=other)).json()["items"] == []
    r = await api.client.post(f"{PREFIX}/entries/{entry_id}/verification", headers=admin)
    assert r.status_code == 200 and r.json()["freshness"] == "fresh"
    assert (await api.client.get(f"{PREFIX}/tasks", headers=admin)).json()["items"] == []


async def test_create_is_idempotent_with_a_key(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    headers = {**api.headers(t, org_a=["org_admin"]), "Idempotency-Key": "k-1"}
    first = await api.client.post(f"{PREFIX}/entries", json=entry(), headers=headers)
    second = await api.client.post(f"{PREFIX}/entries", json=entry(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["entry"]["id"] == second.json()["entry"]["id"]
