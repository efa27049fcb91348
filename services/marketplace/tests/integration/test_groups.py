"""Groups: open and closed, invitations and approvals, moderators; closed-group posts are
invisible to non-members, for every endpoint (member / non-member / other tenant)."""

from __future__ import annotations

from typing import Any

import pytest
from mp_harness import PREFIX, Market, person, request_body
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


async def test_closed_group_membership_by_request_approval_and_invitation(
    market: Market, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    mod, ans, bob = person(), person(), person()
    await market.setup(t, {mod: "DM01", ans: "DM01", bob: "DM02"})
    c = market.client
    made = await c.post(
        f"{PREFIX}/groups",
        json={"name": "Mantelzorgers", "kind": "closed"},
        headers=market.h(t, mod),
    )
    assert made.status_code == 201
    gid = made.json()["id"]
    asked = await c.post(f"{PREFIX}/groups/{gid}/membership", headers=market.h(t, ans))
    assert asked.json()["status"] == "requested"
    # a requester is not a member yet: members list and posts are 404
    assert (
        await c.get(f"{PREFIX}/groups/{gid}/members", headers=market.h(t, ans))
    ).status_code == 404
    # only a moderator approves
    by_bob = await c.post(
        f"{PREFIX}/groups/{gid}/approvals", json={"person_id": ans}, headers=market.h(t, bob)
    )
    assert by_bob.status_code == 404
    approved = await c.post(
        f"{PREFIX}/groups/{gid}/approvals", json={"person_id": ans}, headers=market.h(t, mod)
    )
    assert approved.json()["status"] == "active"
    invited = await c.post(
        f"{PREFIX}/groups/{gid}/invitations", json={"person_id": bob}, headers=market.h(t, mod)
    )
    assert invited.json()["status"] == "invited"
    joined = await c.post(f"{PREFIX}/groups/{gid}/membership", headers=market.h(t, bob))
    assert joined.json()["status"] == "active"
    # a member who is not a moderator cannot manage the group
    not_mod = await c.post(
        f"{PREFIX}/groups/{gid}/moderators", json={"person_id": bob}, headers=market.h(t, ans)
    )
    assert not_mod.status_code == 403
    members = await c.get(f"{PREFIX}/groups/{gid}/members", headers=market.h(t, ans))
    assert {m["person_id"] for m in members.json()["items"]} == {mod, ans, bob}
    left = await c.delete(f"{PREFIX}/groups/{gid}/membership", headers=market.h(t, bob))
    assert left.status_code == 204


async def test_closed_group_posts_are_invisible_to_non_members_on_every_endpoint(
    market: Market, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a, two_tenants.b
    owner, member, outsider, stranger = person(), person(), person(), person()
    await market.setup(a, {owner: "DM01", member: "DM01", outsider: "DM01"})
    await market.setup(b, {stranger: "DM01"})
    c = market.client
    gid = (
        await c.post(
            f"{PREFIX}/groups",
            json={
                "name": "Buurtkring",
                "kind": "closed",
                "credits": {"enabled": True, "min_balance": -5, "max_balance": 5},
            },
            headers=market.h(a, owner),
        )
    ).json()["id"]
    await c.post(
        f"{PREFIX}/groups/{gid}/invitations", json={"person_id": member}, headers=market.h(a, owner)
    )
    await c.post(f"{PREFIX}/groups/{gid}/membership", headers=market.h(a, member))
    made = await market.post(a, owner, request_body(visibility="group", group_id=gid))
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    # an outsider cannot post into the group either
    into = await market.post(a, outsider, request_body(visibility="group", group_id=gid))
    assert into.status_code == 404

    post_url = f"{PREFIX}/posts/{pid}"

    async def status(method: str, url: str, headers: dict[str, str], **kw: Any) -> int:
        response = await c.request(method, url, headers=headers, **kw)
        return response.status_code

    reads = [
        ("GET", post_url, {}),
        ("GET", f"{PREFIX}/groups/{gid}/posts", {}),
        ("GET", f"{PREFIX}/groups/{gid}/members", {}),
        ("GET", f"{PREFIX}/groups/{gid}/balance", {}),
    ]
    owner_only = [
        ("PATCH", post_url, {"json": {"text": "x"}}),
        ("POST", f"{post_url}/cancellation", {}),
        ("POST", f"{post_url}/renewal", {}),
        ("GET", f"{post_url}/candidates", {}),
        ("GET", f"{post_url}/responses", {}),
    ]
    acts = [
        ("POST", f"{PREFIX}/blocks", {"json": {"post_id": pid}}),
        (
            "POST",
            f"{PREFIX}/reports",
            {"json": {"target": "post", "target_id": pid, "reason": "spam"}},
        ),
        (
            "POST",
            f"{PREFIX}/groups/{gid}/transfers",
            {"json": {"to_person_id": owner, "amount": 1}, "headers": {"Idempotency-Key": "k"}},
        ),
    ]
    for role, tenant, sub in (("outsider", a, outsider), ("other tenant", b, stranger)):
        headers = market.h(tenant, sub)
        for method, url, kw in reads + owner_only + acts:
            extra = kw.pop("headers", {}) if "headers" in kw else {}
            got = await status(method, url, {**headers, **extra}, **kw)
            if extra:
                kw["headers"] = extra
            assert got == 404, (role, method, url, got)
        listed = await c.get(f"{PREFIX}/posts", headers=headers)
        assert pid not in [p["id"] for p in listed.json()["items"]], role
        listed = await c.get(f"{PREFIX}/posts", params={"group_id": gid}, headers=headers)
        assert listed.json()["items"] == [], role
    # the member sees it everywhere a member may, but does not own it
    hm = market.h(a, member)
    for method, url, _ in reads:
        assert await status(method, url, hm) == 200, url
    for method, url, kw in owner_only:
        assert await status(method, url, hm, **kw) == 404, url
    listed = await c.get(f"{PREFIX}/posts", headers=hm)
    assert pid in [p["id"] for p in listed.json()["items"]]
    group_posts = await c.get(f"{PREFIX}/groups/{gid}/posts", headers=hm)
    assert [p["id"] for p in group_posts.json()["items"]] == [pid]
    assert (await c.post(f"{post_url}/responses", headers=hm)).status_code == 201
    # after leaving, the member is an outsider again
    await c.delete(f"{PREFIX}/groups/{gid}/membership", headers=hm)
    assert await status("GET", f"{PREFIX}/groups/{gid}/posts", hm) == 404


async def test_organisation_groups_and_vacancies(market: Market, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    coordinator, resident = person(), person()
    await market.setup(t, {coordinator: "DM03", resident: "DM01"})
    c = market.client
    staff = market.h(t, coordinator, welzijn_demo=["professional"])
    # a resident cannot start a group on behalf of an organisation
    refused = await c.post(
        f"{PREFIX}/groups",
        json={"name": "X", "kind": "open", "organisation": "welzijn-demo"},
        headers=market.h(t, resident),
    )
    assert refused.status_code == 403
    vacancy = {
        "kind": "vacancy",
        "category": "vrijwilligerswerk",
        "text": "Chauffeur voor de boodschappenbus",
        "organisation": "welzijn-demo",
        "neighbourhood_code": "DM02",
    }
    made = await c.post(f"{PREFIX}/posts", json=vacancy, headers=staff)
    assert made.status_code == 201, made.text
    assert made.json()["owner_id"] is None and made.json()["neighbourhood_code"] == "DM02"
    # only staff of the organisation post for it
    not_staff = await c.post(f"{PREFIX}/posts", json=vacancy, headers=market.h(t, resident))
    assert not_staff.status_code == 403
    # an organisation that is not a local business does not post offers
    offer = {**vacancy, "kind": "offer", "category": "digitaal"}
    assert (await c.post(f"{PREFIX}/posts", json=offer, headers=staff)).status_code == 422
    # a resident applies, the organisation's staff accept
    applied = await c.post(
        f"{PREFIX}/posts/{made.json()['id']}/responses", headers=market.h(t, resident)
    )
    assert applied.status_code == 201
    responses = await c.get(f"{PREFIX}/posts/{made.json()['id']}/responses", headers=staff)
    assert [r["responder_id"] for r in responses.json()["items"]] == [resident]
    accepted = await c.post(f"{PREFIX}/matches/{applied.json()['id']}/acceptance", headers=staff)
    assert accepted.json()["status"] == "accepted"
    org_posts = await c.get(f"{PREFIX}/organisations/welzijn-demo/posts", headers=staff)
    assert [p["id"] for p in org_posts.json()["items"]] == [made.json()["id"]]
    assert (
        await c.get(f"{PREFIX}/organisations/welzijn-demo/posts", headers=market.h(t, resident))
    ).status_code == 404
