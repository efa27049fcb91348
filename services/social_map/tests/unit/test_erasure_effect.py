"""The erasure effect without a database: the person's data goes, their reports stay under
one random id (in the tasks and inside the entries), and the answer counts both."""

from __future__ import annotations

from datetime import UTC, datetime

from social_map.domain.freshness import FreshnessState
from social_map.domain.residents import Resident, ResponseScores
from social_map.service import entries
from social_map.service.erasure import erase_person
from social_map_fakes import ADMIN, WALK, FakeClock, FakeRepository, fake_context, person
from wijkkracht_common.consent import ConsentState

T = "t1"
AT = datetime(2025, 3, 1, tzinfo=UTC)


async def test_erasure_removes_the_person_and_keeps_their_reports_unlinked() -> None:
    clock = FakeClock()
    ctx, runtime = fake_context(clock)
    walk = await entries.create_entry(ctx, ADMIN, entries.EntryDraft(**WALK))
    cafe = await entries.create_entry(
        ctx, ADMIN, entries.EntryDraft(**{**WALK, "name": "Taalcafé"})
    )
    piet, other = person("p-piet", org_a=["resident"]), person("p-other", org_a=["resident"])
    await entries.report_outdated(ctx, piet, walk.entry.id, "Tijden kloppen niet")
    await entries.report_outdated(ctx, other, walk.entry.id, "Klopt niet")
    await entries.report_outdated(ctx, piet, cafe.entry.id, "Verhuisd")
    before = {e: await entries.load(ctx, T, e) for e in (walk.entry.id, cafe.entry.id)}
    repo = FakeRepository(T, runtime.data(T))
    await repo.save_resident(Resident("p-piet", "9903", "DM01", "65-79", AT))
    await repo.save_response(ResponseScores("r1", "p-piet", {"meedoen": 3.0}, "zrm", AT))
    repo.data.keep_consent(ConsentState("p-piet", "org-a", "share_results", True, 1, AT))
    repo.data.keep_consent(ConsentState("p-other", "org-a", "share_results", True, 1, AT))

    [answer] = await erase_person(
        repo,
        await ctx.view(T),
        tenant=T,
        person="p-piet",
        replacement="erased-x",
        actor="system:identity",
        now=clock.now,
    )

    payload = answer.data.model_dump()
    assert payload["erased"] == {"residents": 1, "responses": 1, "consents": 1}
    assert payload["anonymised"] == {"tasks": 2, "entries": 2}
    data = runtime.data(T)
    assert "p-piet" not in repr(data)  # nowhere: profile, responses, consents, tasks, entries
    assert [c.person_id for c in data.consents.values()] == ["p-other"]
    assert sorted(t.reporter for t in data.tasks.values()) == ["erased-x", "erased-x", "p-other"]
    for entry_id, old in before.items():
        after = await entries.load(ctx, T, entry_id)
        assert after.freshness is old.freshness is FreshnessState.DUE
        assert [r.note for r in after.entry.open_reports] == [
            r.note for r in old.entry.open_reports
        ]
        assert after.version == old.version + 1
