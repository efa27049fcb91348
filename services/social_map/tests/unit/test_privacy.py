"""The privacy contracts without a database: a staff member's erasure, the person's export
part, access logged on behalf of the organisation whose consent allows it, and the move of
the former consent projection's states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.domain.residents import Resident, ResponseScores
from social_map.service import entries, export, freshness, recommendations
from social_map.service.erasure import erase_person
from social_map.service.legacy_consents import adopt
from social_map_fakes import (
    ADMIN,
    WALK,
    FakeClock,
    FakeRepository,
    fake_context,
    person,
)
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.envelope import Envelope

T = "t1"
AT = datetime(2025, 3, 1, tzinfo=UTC)
SCORES = {"participation": 3.0, "daily_functioning": 8.0}


def grant(repo: FakeRepository, who: str, org: str, granted: bool = True, v: int = 1) -> None:
    repo.data.keep_consent(ConsentState(who, org, "share_results", granted, v, AT))


async def test_a_staff_members_erasure_leaves_their_work_without_them() -> None:
    clock = FakeClock()
    ctx, runtime = fake_context(clock)
    walk = await entries.create_entry(ctx, ADMIN, entries.EntryDraft(**WALK))
    manager = person("p-manager", gemeente=["neighbourhood_manager"])
    clock.now += timedelta(days=10)
    verified = await entries.verify_entry(ctx, manager, walk.entry.id)
    report = await freshness.run_now(ctx, manager)
    repo = FakeRepository(T, runtime.data(T))
    repo.data.replays["p-manager:entries:key-1"] = {"status": 201}
    repo.data.replays["p-other:entries:key-1"] = {"status": 201}
    pro = person("p-manager", welzijn=["professional"])
    await repo.record_access(
        service="social_map",
        principal=pro,
        resident="p-res",
        action="read",
        resource="response/r1/recommendations",
        reason="share_results",
        on_behalf_of="welzijn",
    )

    [answer] = await erase_person(
        repo,
        await ctx.view(T),
        tenant=T,
        person="p-manager",
        replacement="erased-r",
        actor="system:identity",
        now=clock.now,
    )

    assert isinstance(answer, Envelope)
    payload = answer.data.model_dump()
    assert payload["erased"] == {
        "residents": 0,
        "responses": 0,
        "consents": 0,
        "request_replays": 1,
    }
    assert payload["anonymised"] == {"tasks": 0, "entries": 0, "entries_confirmed": 1, "sweeps": 1}
    assert "p-manager" not in repr(runtime.data(T).entries)
    assert "p-manager" not in repr(runtime.data(T).sweeps)
    assert list(repo.data.replays) == ["p-other:entries:key-1"]
    after = await entries.load(ctx, T, walk.entry.id)
    assert after.entry.assured_at == verified.entry.assured_at  # its freshness is unchanged
    assert after.entry.assured_by is not None and after.entry.assured_by.startswith("erased-")
    assert after.freshness is verified.freshness and after.version == verified.version + 1
    assert (await repo.sweep_report(report.id)) is not None
    # a staff member's own reading of others is not about them: that log stays as it was
    assert repo.data.access_log[0]["resident"] == "p-res"


async def test_a_residents_erasure_unlinks_the_access_log_and_remembers_them() -> None:
    clock = FakeClock()
    ctx, runtime = fake_context(clock)
    repo = FakeRepository(T, runtime.data(T))
    await repo.save_response(ResponseScores("r1", "p-res", SCORES, "zrm", AT))
    await repo.record_access(
        service="social_map",
        principal=person("p-pro", welzijn=["professional"]),
        resident="p-res",
        action="read",
        resource="response/r1/recommendations",
        reason="share_results",
        on_behalf_of="welzijn",
    )
    [answer] = await erase_person(
        repo,
        await ctx.view(T),
        tenant=T,
        person="p-res",
        replacement="erased-r",
        actor=None,
        now=clock.now,
    )
    assert isinstance(answer, Envelope)
    assert answer.data.model_dump()["anonymised"] == {"tasks": 0, "entries": 0, "access_log": 1}
    [logged] = repo.data.access_log
    assert logged["resource"] == "response/erased" and logged["actor"] == "p-pro"
    assert logged["resident"].startswith("erased-")
    assert "p-res" not in repr(runtime.data(T))
    assert len(repo.data.erased) == 1  # a one-way tombstone, not the id


async def test_the_export_part_holds_what_the_map_keeps_about_the_person() -> None:
    clock = FakeClock()
    ctx, runtime = fake_context(clock)
    walk = await entries.create_entry(ctx, ADMIN, entries.EntryDraft(**WALK))
    piet = person("p-piet", org_a=["resident"])
    await entries.report_outdated(ctx, piet, walk.entry.id, "Tijden kloppen niet")
    await entries.report_outdated(ctx, person("p-other"), walk.entry.id, "Niet van Piet")
    repo = FakeRepository(T, runtime.data(T))
    await repo.save_resident(Resident("p-piet", "9903", "DM01", "65-79", AT))
    await repo.save_response(ResponseScores("r1", "p-piet", SCORES, "positieve-gezondheid", AT))
    await repo.save_response(ResponseScores("r2", "p-other", SCORES, "zrm", AT))
    grant(repo, "p-piet", "welzijn")
    grant(repo, "p-piet", "buurtteam", granted=False)

    part = await export.build_part(repo, "p-piet")

    assert part["profile"] == {
        "pc4": "9903",
        "neighbourhood_code": "DM01",
        "age_band": "65-79",
        "updated_at": AT.isoformat(),
    }
    assert [r["response_id"] for r in part["responses"]] == ["r1"]
    assert part["responses"][0]["dimension_scores"] == SCORES
    [made] = part["reports"]
    assert made["note"] == "Tijden kloppen niet" and made["entry_name"] == WALK["name"]
    assert made["entry_id"] == walk.entry.id and made["status"] == "open"
    assert part["consents"] == {"share_results": ["welzijn"]}
    assert part["counts"] == {"profile": 1, "responses": 1, "reports": 1, "consents": 1}
    assert "p-other" not in repr(part)
    nobody = await export.build_part(repo, "p-nobody")
    assert nobody["profile"] is None and set(nobody["counts"].values()) == {0}


async def test_a_professionals_read_is_logged_on_behalf_of_the_consenting_organisation() -> None:
    clock = FakeClock()
    ctx, runtime = fake_context(clock)
    repo = FakeRepository(T, runtime.data(T))
    await repo.replace_neighbourhoods(DEMO_NEIGHBOURHOODS)
    await repo.save_resident(Resident("p-piet", "9903", "DM01", "65-79", AT))
    await repo.save_response(ResponseScores("r1", "p-piet", SCORES, "zrm", AT))
    pro = person("p-pro", buurtteam=["professional"], welzijn=["professional"])
    with pytest.raises(NotFound):
        await recommendations.for_response(ctx, pro, "r1")
    grant(repo, "p-piet", "welzijn")

    await recommendations.for_response(ctx, pro, "r1")
    await recommendations.for_response(ctx, person("p-piet"), "r1")  # own: not logged

    assert repo.data.access_log == [
        {
            "actor": "p-pro",
            "resident": "p-piet",
            "resource": "response/r1/recommendations",
            "on_behalf_of": "welzijn",
        }
    ]
    grant(repo, "p-piet", "welzijn", granted=False, v=2)
    with pytest.raises(NotFound):
        await recommendations.for_response(ctx, pro, "r1")


async def test_states_of_the_former_consent_projection_are_moved_once() -> None:
    ctx, runtime = fake_context(FakeClock())
    repo = FakeRepository(T, runtime.data(T))
    grant(repo, "p-a", "welzijn", granted=False, v=3)  # newer than the former state: kept
    repo.data.legacy_consents = [
        ConsentState("p-a", "welzijn", "share_results", True, 0, AT),
        ConsentState("p-b", "welzijn", "share_results", True, 0, AT),
        ConsentState("p-gone", "welzijn", "share_results", True, 0, AT),
    ]
    await repo.remember_erased(T, "p-gone")

    assert await adopt(ctx, T) == 2
    assert await adopt(ctx, T) == 0
    assert not await repo.has_consent("p-a", "welzijn", "share_results")
    assert await repo.has_consent("p-b", "welzijn", "share_results")
    assert not await repo.has_consent("p-gone", "welzijn", "share_results")
    assert repo.data.legacy_consents == []
