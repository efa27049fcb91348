"""The demo content: five modules and the long path with its placement rules, seeded
through the authoring use cases, idempotent, and placing a measured resident."""

from __future__ import annotations

from typing import Any

import pytest
from learning_paths.demo_seed import seed_tenant
from learning_paths.main import PREFIX
from lp_harness import Api
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


async def test_demo_content_is_seeded_once_and_places_residents(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    ctx = api.app.state.ctx
    first = await seed_tenant(ctx, t)
    assert "(6 new)" in first
    second = await seed_tenant(ctx, t)
    assert "(0 new)" in second
    resident = api.issuer.headers(sub="ineke", tenant=t, orgs={"welzijn-demo": ["resident"]})
    modules = (await api.client.get(f"{PREFIX}/modules", headers=resident)).json()["items"]
    assert {m["theme"] for m in modules} == {
        "stress",
        "household_budget",
        "informal_care",
        "loneliness",
    }
    assert len(modules) == 5
    paths = (await api.client.get(f"{PREFIX}/paths", headers=resident)).json()["items"]
    assert [p["slug"] for p in paths] == ["grip-op-geld"]
    path = (await api.client.get(f"{PREFIX}/paths/{paths[0]['id']}", headers=resident)).json()
    assert len({s["item"] for s in path["version"]["steps"]}) == 7
    assert [p["item"] for p in path["version"]["entry_points"]] == [1, 3, 4, 5, 7]
    english = await api.client.get(
        f"{PREFIX}/modules/{modules[0]['id']}?variant=en", headers=resident
    )
    assert english.status_code == 200

    response = await api.respond(t, "ineke", phases={"household_budget": 2})
    await api.measure(t, "ineke", response)

    async def placed() -> list[dict[str, Any]]:
        got = await api.client.get(f"{PREFIX}/me/placements", headers=resident)
        items: list[dict[str, Any]] = got.json()["items"]
        return items

    found = (await eventually(placed))[0]
    assert found["item"] == 3 and found["entry_point"] == "bewust"
    assert found["step_id"] == "post-en-papieren.stapel"
