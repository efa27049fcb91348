"""Use cases on in-memory fakes: publishing (a resident, a broker with consent), telling
volunteers, the match flow and its events, balance figures with suppression."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from marketplace.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from marketplace.domain.balance import GroupBy, Tally, table
from marketplace.domain.notifications import Delivery
from marketplace.domain.posts import PostKind, When
from marketplace.domain.residents import ResidentProfile
from marketplace.domain.volunteers import NotifyMode, VolunteerProfile
from marketplace.service import matches, posts
from marketplace.service.acting import BROKER_PURPOSE
from marketplace.service.posts import PostDraft
from mp_fakes import Clock, FakeRuntime, Store, fake_context
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound

T = "t1"


def who(pid: str, **orgs: list[str]) -> Principal:
    org_roles = {o.replace("_", "-"): frozenset(r) for o, r in orgs.items()}
    roles = frozenset(r for rs in org_roles.values() for r in rs)
    return Principal(subject=pid, tenant=T, roles=roles, orgs=org_roles)


def draft(category: str = "administratie", kind: PostKind = PostKind.REQUEST) -> PostDraft:
    return PostDraft(kind=kind, category=category, text="Hulp graag", radius_km=3.0, when=When())


@pytest.fixture
def world() -> tuple[Any, FakeRuntime, Store, Clock]:
    clock = Clock()
    ctx, runtime = fake_context(clock)
    store = runtime.stores.setdefault(T, Store())
    store.neighbourhoods = {n.code: n for n in DEMO_NEIGHBOURHOODS}
    for pid, code in {"piet": "DM01", "vera": "DM02", "wim": "DM06", "bram": "DM03"}.items():
        store.residents[pid] = ResidentProfile(pid, code)
    return ctx, runtime, store, clock


def names(runtime: FakeRuntime) -> list[str]:
    return [e.data.event_name for e in runtime.staged]


async def test_a_request_tells_the_volunteers_who_fit_by_their_choice(world: Any) -> None:
    ctx, runtime, store, clock = world
    store.volunteers["vera"] = VolunteerProfile(
        person_id="vera",
        categories=["administratie"],
        email="v@x.test",
        neighbourhood_code="DM02",
        updated_at=clock.now,
    )
    store.volunteers["wim"] = VolunteerProfile(
        person_id="wim",
        categories=["geldzaken"],
        email="w@x.test",
        notify=NotifyMode.DAILY,
        radius_km=10,
        neighbourhood_code="DM06",
        updated_at=clock.now,
    )
    store.volunteers["bram"] = VolunteerProfile(
        person_id="bram", categories=["wandelen"], neighbourhood_code="DM03", updated_at=clock.now
    )
    post = await posts.publish(ctx, who("piet"), draft())
    assert post.neighbourhood_code == "DM01" and names(runtime) == ["post_published"]
    told = {n.person_id: n.delivery for n in store.notifications.values()}
    # vera: same category, nearby, mail at once; wim: same branch, daily digest; bram: no fit
    assert told == {"vera": Delivery.IMMEDIATE, "wim": Delivery.DIGEST}
    assert [m.to for m in store.mails] == ["v@x.test"]
    assert "Hulp graag" not in store.mails[0].text


async def test_a_broker_needs_the_residents_consent_and_is_logged(world: Any) -> None:
    ctx, runtime, store, _ = world
    broker = who("bea", welzijn_demo=["broker"])
    with pytest.raises(NotFound):
        await posts.publish(ctx, broker, draft(), for_person="piet")
    assert store.posts == {} and store.access_log == []
    store.consents.add(("piet", "welzijn-demo", BROKER_PURPOSE))
    post = await posts.publish(ctx, broker, draft(), for_person="piet")
    assert post.owner_id == "piet" and post.posted_by == "bea" and post.broker_org == "welzijn-demo"
    [record] = store.access_log
    assert record["resident"] == "piet" and record["on_behalf_of"] == "welzijn-demo"
    assert record["reason"] == BROKER_PURPOSE and record["action"] == "create"
    assert runtime.staged[0].data.brokered is True
    # a professional without the broker role cannot act for the resident
    with pytest.raises(NotFound):
        await posts.publish(
            ctx, who("sam", welzijn_demo=["professional"]), draft(), for_person="piet"
        )


async def test_respond_accept_complete_emits_match_made_and_help_completed(world: Any) -> None:
    ctx, runtime, store, clock = world
    post = await posts.publish(ctx, who("piet"), draft())
    clock.now += timedelta(hours=5)
    side = await matches.respond(ctx, who("vera"), post.id, message="Ik kom")
    again = await matches.respond(ctx, who("vera"), post.id)
    assert again.match.id == side.match.id  # one open response per person
    assert store.posts[post.id].first_response_at == clock.now
    with pytest.raises(NotFound):  # the responder cannot accept their own response
        await matches.accept(ctx, who("vera"), side.match.id)
    with pytest.raises(NotFound):  # nor can a third person see it
        await matches.read(ctx, who("wim"), side.match.id)
    await matches.accept(ctx, who("piet"), side.match.id)
    assert store.posts[post.id].status.value == "matched"
    await matches.complete(ctx, who("vera"), side.match.id)
    assert store.posts[post.id].status.value == "done"
    assert names(runtime) == ["post_published", "match_made", "help_completed", "post_closed"]
    completed = runtime.staged[2].data
    assert (completed.helped_person_id, completed.helper_id) == ("piet", "vera")


def test_small_cells_are_suppressed_and_coarse_rows_add_published_cells_only() -> None:
    def tally(requests: int, supply: int) -> Tally:
        return Tally(requests=requests, open_requests=requests, supply=supply)

    cells = {
        ("DM01", "administratie"): tally(30, 20),
        ("DM01", "wandelen"): tally(12, 15),
        ("DM01", "taal"): tally(3, 12),  # small
        ("DM02", "administratie"): tally(25, 40),
    }
    grid = {"neighbourhoods": ["DM01", "DM02", "DM03"], "categories": ["taal", "wandelen"]}
    rows = {
        (r.neighbourhood_code, r.category): r
        for r in table(cells, GroupBy.BOTH, k=10, base=1, **grid)
    }
    assert rows[("DM01", "taal")].requests is None and rows[("DM01", "taal")].suppressed
    assert rows[("DM01", "wandelen")].requests == 12
    assert rows[("DM01", "administratie")].requests == 30
    assert rows[("DM02", "administratie")].demand_supply_ratio == 0.625
    # the grid: every neighbourhood x category, posted in or not
    assert rows[("DM03", "taal")].suppressed and len(rows) == 3 * 3
    by_hood = {r.neighbourhood_code: r for r in table(cells, GroupBy.NEIGHBOURHOOD, k=10, base=1)}
    # 'taal' (hidden) is not in DM01's total, so nothing can be solved by subtraction
    assert by_hood["DM01"].requests == 42 and by_hood["DM02"].requests == 25
    rounded = {r.neighbourhood_code: r for r in table(cells, GroupBy.NEIGHBOURHOOD, k=10)}
    assert rounded["DM01"].requests == 40 and rounded["DM01"].demand_supply_ratio == round(
        40 / 35, 3
    )
