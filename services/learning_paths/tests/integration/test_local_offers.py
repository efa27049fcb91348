"""A local offer step shows social-map entries for the step's categories and dimensions
near the resident (the social map's public API, called with the resident's own token)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from learning_paths.adapters.social_map import SocialMapOffers
from learning_paths.main import PREFIX
from lp_harness import Api
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration

OFFER = """---
title: Contact
---

---
id: buurt
kind: local_offer
title: Activiteiten in de buurt
categories: [eenzaamheid]
dimensions: [participation]
---
Kijk wat er bij u in de buurt is.
"""


class FakeSocialMap:
    def __init__(self) -> None:
        self.calls: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.calls.append(request)
        if request.url.path.endswith("/taxonomy"):
            return httpx2.Response(
                200,
                json={
                    "categories": [
                        {"code": "samen_eten", "dimensions": ["participation"]},
                        {"code": "schulden", "dimensions": ["daily_functioning"]},
                    ]
                },
            )
        category = request.url.params["category"]
        hits: dict[str, list[dict[str, Any]]] = {
            "eenzaamheid": [
                {"entry": {"id": "e1", "name": "Wandelgroep"}, "distance_km": 1.2},
                {"entry": {"id": "e2", "name": "Koffieochtend"}, "distance_km": 0.4},
            ],
            "samen_eten": [{"entry": {"id": "e3", "name": "Buurtmaaltijd"}, "distance_km": 2.0}],
        }
        return httpx2.Response(200, json={"items": hits.get(category, [])})


async def test_a_local_offer_step_lists_nearby_entries(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    social_map = FakeSocialMap()
    api.app.state.ctx.local_offers = SocialMapOffers(
        "http://social-map.test/social-map/v1", transport=httpx2.MockTransport(social_map)
    )
    module = await api.module(t, slug="contact", source=OFFER)
    me = api.resident(t, "r-offers")
    enrolment = (
        await api.client.post(f"{PREFIX}/enrolments", json={"content_id": module["id"]}, headers=me)
    ).json()
    step = await api.client.get(
        f"{PREFIX}/enrolments/{enrolment['id']}/steps/buurt", params={"pc4": "9901"}, headers=me
    )
    assert step.status_code == 200, step.text
    assert [o["name"] for o in step.json()["offers"]] == [
        "Koffieochtend",
        "Wandelgroep",
        "Buurtmaaltijd",
    ]
    searches = [c for c in social_map.calls if c.url.path.endswith("/search")]
    assert {c.url.params["pc4"] for c in searches} == {"9901"}
    assert all(c.headers["authorization"] == me["Authorization"] for c in social_map.calls)
    printed = await api.client.get(
        f"{PREFIX}/enrolments/{enrolment['id']}/steps/buurt/print", headers=me
    )
    assert "Wandelgroep" in printed.text


async def test_without_the_social_map_the_step_shows_its_text(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a

    def down(_: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503)

    api.app.state.ctx.local_offers = SocialMapOffers(
        "http://social-map.test/social-map/v1", transport=httpx2.MockTransport(down)
    )
    module = await api.module(t, slug="contact", source=OFFER)
    me = api.resident(t, "r-offline")
    enrolment = (
        await api.client.post(f"{PREFIX}/enrolments", json={"content_id": module["id"]}, headers=me)
    ).json()
    step = await api.client.get(f"{PREFIX}/enrolments/{enrolment['id']}/steps/buurt", headers=me)
    assert step.status_code == 200 and step.json()["offers"] == []
    assert "Kijk wat er" in step.json()["step"]["html"]
