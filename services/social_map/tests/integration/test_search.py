from __future__ import annotations

import pytest
from conftest import PREFIX, Api
from helpers import IDENTITY_DEMO_TABLE, demo_hsds_json, eventually
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import NeighbourhoodsImported
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


async def _seed(api: Api, tenant: str) -> dict[str, str]:
    manager = api.headers(tenant, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=demo_hsds_json(tenant, api.clock()),
        headers={**manager, "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text[:300]
    await api.publish(
        new_event(
            NeighbourhoodsImported(neighbourhoods=IDENTITY_DEMO_TABLE),
            tenant=tenant,
            subject=tenant,
        )
    )
    resident = api.headers(tenant, sub="p-res", welzijn_demo=["resident"])

    async def hoods() -> bool:
        r = await api.client.get(f"{PREFIX}/neighbourhoods", headers=resident)
        return len(r.json()["items"]) == 6

    await eventually(hoods)
    return resident


async def test_text_filters_and_radius(api: Api, two_tenants: TwoTenants) -> None:
    headers = await _seed(api, two_tenants.a)
    params = {"q": "wandelen", "pc4": "9903", "radius_km": 2, "free": "true", "age": 66}
    r = await api.client.get(f"{PREFIX}/search", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"]
    assert items and items[0]["entry"]["name"] == "Wandelgroep De Stappers"
    assert all(i["distance_km"] <= 2 for i in items)
    assert all(i["entry"]["cost"]["free"] for i in items)
    # walking entries (stem, compound "wandelgroep") rank above weaker synonym matches
    walking = [i["entry"]["category_codes"] == ["wandelen"] for i in items]
    assert walking[0] and walking == sorted(walking, reverse=True)
    # synonyms and compounds: "lopen" finds the walking groups as well
    r = await api.client.get(f"{PREFIX}/search", params={**params, "q": "lopen"}, headers=headers)
    assert "Wandelgroep De Stappers" in [i["entry"]["name"] for i in r.json()["items"]]
    # day/time, language, accessibility, kind and category (with descendants)
    r = await api.client.get(
        f"{PREFIX}/search",
        headers=headers,
        params={
            "category": "bewegen",
            "weekday": 1,
            "time_from": "09:00",
            "time_to": "12:00",
            "accessibility": ["wheelchair"],
            "kind": "activity",
            "lat": 52.4612,
            "lon": 4.8135,
            "radius_km": 5,
            "language": "nl",
        },
    )
    names = [i["entry"]["name"] for i in r.json()["items"]]
    assert "Wandelgroep De Stappers" in names
    for item in r.json()["items"]:
        assert item["entry"]["category_codes"][0] in ("wandelen", "beweegles", "bewegen")
        assert item["entry"]["kind"] == "activity"


async def test_cursor_pagination_walks_the_ranking(api: Api, two_tenants: TwoTenants) -> None:
    headers = await _seed(api, two_tenants.a)
    params: dict[str, object] = {"q": "koffie", "pc4": "9905", "radius_km": 5, "limit": 4}
    seen: list[str] = []
    total = None
    cursor = None
    for _ in range(50):
        r = await api.client.get(
            f"{PREFIX}/search",
            headers=headers,
            params={**params, **({"cursor": cursor} if cursor else {})},
        )
        body = r.json()
        total = body["total"]
        seen += [i["entry"]["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert total is not None and total > 4 and len(seen) == total == len(set(seen))
    # a cursor of another query is refused
    first = (await api.client.get(f"{PREFIX}/search", headers=headers, params=params)).json()
    r = await api.client.get(
        f"{PREFIX}/search", headers=headers, params={"q": "taal", "cursor": first["next_cursor"]}
    )
    assert r.status_code == 422


async def test_feeds_per_neighbourhood(api: Api, two_tenants: TwoTenants) -> None:
    headers = await _seed(api, two_tenants.a)
    r = await api.client.get(f"{PREFIX}/neighbourhoods/DM01/activities.ics", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in r.text and "RRULE:FREQ=WEEKLY;BYDAY=TU" in r.text
    assert "Wandelgroep De Stappers" in r.text
    r = await api.client.get(
        f"{PREFIX}/neighbourhoods/DM01/agenda", headers=headers, params={"days": 7}
    )
    assert r.status_code == 200 and "Wandelgroep De Stappers" in r.text and "<html" in r.text
    r = await api.client.get(f"{PREFIX}/neighbourhoods/XX99/agenda", headers=headers)
    assert r.status_code == 404


async def test_signed_feed_url_for_calendar_apps(api: Api, two_tenants: TwoTenants) -> None:
    headers = await _seed(api, two_tenants.a)
    r = await api.client.post(f"{PREFIX}/neighbourhoods/DM01/feed-link", headers=headers)
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    assert url.startswith("http://t/social-map/v1/feeds/") and url.endswith("/activities.ics")
    path = url.removeprefix("http://t")
    r = await api.client.get(path)  # no Bearer token: calendar apps cannot send one
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in r.text and "Wandelgroep De Stappers" in r.text
    token = path.split("/")[-2]
    head, body, sig = token.split(".")
    forged = f"{head}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{sig}"
    for bad in (forged, f"{head}.{body}.{sig[::-1]}", "garbage", f"f1.{body}"):
        r = await api.client.get(f"{PREFIX}/feeds/{bad}/activities.ics")
        assert r.status_code == 404, bad
        assert r.headers["content-type"].startswith("application/problem+json")
    # other tenant's users get their own URLs; unknown neighbourhood → 404
    r = await api.client.post(f"{PREFIX}/neighbourhoods/XX99/feed-link", headers=headers)
    assert r.status_code == 404
    # revocation: only a manager, and every earlier URL stops working
    r = await api.client.delete(f"{PREFIX}/neighbourhoods/DM01/feed-link", headers=headers)
    assert r.status_code == 403
    manager = api.headers(two_tenants.a, sub="p-m", gemeente_demo=["neighbourhood_manager"])
    r = await api.client.delete(f"{PREFIX}/neighbourhoods/DM01/feed-link", headers=manager)
    assert r.status_code == 200 and r.json()["generation"] == 1
    assert (await api.client.get(path)).status_code == 404
    r = await api.client.post(f"{PREFIX}/neighbourhoods/DM01/feed-link", headers=headers)
    fresh = r.json()["url"].removeprefix("http://t")
    assert (await api.client.get(fresh)).status_code == 200
    # expiry (default 365 days)
    api.clock.advance(366)
    r = await api.client.get(fresh)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem")


async def test_search_by_pc4_follows_the_neighbourhood_table(
    api: Api, two_tenants: TwoTenants
) -> None:
    """Centroids are cached for search: a new table (moved centroid, new postcode) shows."""
    headers = await _seed(api, two_tenants.a)

    async def center(pc4: str) -> dict[str, float] | None:
        r = await api.client.get(f"{PREFIX}/search", headers=headers, params={"pc4": pc4})
        return r.json()["center"] if r.status_code == 200 else None

    assert await center("9903") == {"lat": 52.4612, "lon": 4.8135}
    assert await center("9990") is None  # unknown: 422 (and not remembered)
    moved = [dict(row) for row in IDENTITY_DEMO_TABLE]
    moved[0].update(lat=52.5, lon=4.9, postcodes=["9901", "9902", "9903", "9990"])  # DM01
    await api.publish(
        new_event(
            NeighbourhoodsImported(neighbourhoods=moved),
            tenant=two_tenants.a,
            subject=two_tenants.a,
        )
    )

    async def applied() -> bool:
        return await center("9990") == await center("9903") == {"lat": 52.5, "lon": 4.9}

    await eventually(applied)
