"""Use cases on in-memory fakes: what they decide, store, log and publish."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from learning_paths.domain.answers import AnswerInput
from learning_paths.domain.content import ContentKind
from learning_paths.service import content, enrolments, erasure, placement, progress, surveys
from lp_fakes import Harness, harness, principal
from wijkkracht_common.errors import Forbidden, NotFound
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.questionnaires import ResponseSubmitted

MODULE = """---
title: Geld
theme: money
---

---
id: lezen
kind: text
title: Lezen
---
Tekst.

---
id: schrijven
kind: exercise
title: Schrijven
---
Schrijf op wat lastig is.
"""

PATH = """---
title: Grip op geld
entry_points:
  - {key: start, item: 1}
  - {key: aware, item: 2}
---

---
id: eerst
kind: text
title: Eerst
---
x

---
kind: module
module: geld
---
"""

EDITOR = principal("ed", o1=["content_editor"])
PRO = principal("pro", o1=["professional"])
OTHER_PRO = principal("pro2", o2=["professional"])
RESIDENT = principal("r1", o1=["resident"])


async def _published(
    h: Harness, source: str = MODULE, kind: ContentKind = "module", slug: str = "geld"
) -> str:
    made = await content.create(
        h.ctx,
        EDITOR,
        kind=kind,
        organisation="o1",
        slug=slug,
        scope="tenant",
        sources={"nl": source},
    )
    await content.publish(h.ctx, EDITOR, made.content.id)
    return made.content.id


async def test_only_content_editors_write_modules() -> None:
    h = harness()
    with pytest.raises(Forbidden):
        await content.create(
            h.ctx,
            PRO,
            kind="module",
            organisation="o1",
            slug="x",
            scope="tenant",
            sources={"nl": MODULE},
        )
    module_id = await _published(h)
    with pytest.raises(Forbidden):  # a shared module is read by all, edited by its owners
        await content.put_variant(
            h.ctx, principal("ed2", o2=["content_editor"]), module_id, "nl", MODULE
        )


async def test_completing_a_module_publishes_ids_and_facts_only() -> None:
    h = harness()
    module_id = await _published(h)
    enrolment = await enrolments.start_own(h.ctx, RESIDENT, module_id)
    await enrolments.complete_step(h.ctx, RESIDENT, enrolment.id, "lezen")
    await enrolments.save_answer(
        h.ctx, RESIDENT, enrolment.id, "schrijven", AnswerInput(text="Mijn geheime zorgen")
    )
    done = await enrolments.complete_step(h.ctx, RESIDENT, enrolment.id, "schrijven")
    assert done.status == "completed"
    names = [e.data.event_name for e in h.runtime.staged]
    assert names == ["module_started", "step_completed", "step_completed", "module_completed"]
    assert "geheime" not in str([e.model_dump_json() for e in h.runtime.staged])
    completed = h.runtime.events("module_completed")[0].data
    assert completed.theme == "money" and completed.person_id == "r1"
    again = await enrolments.start_own(h.ctx, RESIDENT, module_id)
    assert again.id != enrolment.id  # a completed module may be followed again


async def test_progress_needs_consent_and_logs_on_behalf_of_the_organisation() -> None:
    h = harness()
    module_id = await _published(h)
    assigned = await enrolments.assign(
        h.ctx,
        PRO,
        organisation="o1",
        person_id="r1",
        content_id=module_id,
        due_at=h.clock.now + timedelta(days=3),
        note="Voor dinsdag",
    )
    assert h.store().access_log[-1]["on_behalf_of"] == "o1"
    assert h.store().access_log[-1]["action"] == "create"
    assert h.runtime.events("assignment_created")[0].data.organisation == "o1"
    with pytest.raises(Forbidden):
        await enrolments.assign(
            h.ctx,
            RESIDENT,
            organisation="o1",
            person_id="r2",
            content_id=module_id,
            due_at=None,
            note="",
        )
    with pytest.raises(NotFound):
        await progress.resident_progress(h.ctx, PRO, "o1", "r1")
    h.store().consents.add(("r1", "o1"))
    seen = await progress.resident_progress(h.ctx, PRO, "o1", "r1")
    assert [e.enrolment.id for e in seen.enrolments] == [assigned.id]
    read = h.store().access_log[-1]
    assert read == {
        "actor": "pro",
        "resident": "r1",
        "action": "read",
        "resource": "learning-progress/r1",
        "reason": "share_learning_progress",
        "on_behalf_of": "o1",
    }
    with pytest.raises(NotFound):  # consent is per organisation
        await progress.resident_progress(h.ctx, OTHER_PRO, "o2", "r1")
    with pytest.raises(NotFound):  # the professional must act for the organisation named
        await progress.resident_progress(h.ctx, OTHER_PRO, "o1", "r1")


def _response(person: str, phases: dict[str, int], response_id: str = "resp-1") -> Any:
    return new_event(
        ResponseSubmitted(
            response_id=response_id,
            person_id=person,
            instrument_id="effect-monitor",
            family="effect-monitor",
            variant="standard",
            version=1,
            purpose="measurement",
            submitted_at=harness().clock.now,
            dimension_scores={},
            phases=phases,
        ),
        tenant="t1",
        subject=response_id,
    )


def _measurement(person: str, response_id: str = "resp-1") -> Any:
    return new_event(
        MeasurementRecorded(
            measurement_id="m-1",
            response_id=response_id,
            person_id=person,
            trajectory_id="tr",
            family="effect-monitor",
            sequence=0,
            recorded_at=harness().clock.now,
        ),
        tenant="t1",
        subject="m-1",
    )


async def test_placement_waits_for_both_the_response_and_the_measurement() -> None:
    h = harness()
    await _published(h)
    path_id = await _published(h, PATH, kind="path", slug="pad")
    from learning_paths.domain.placement import PlacementRule

    await placement.replace_rules(
        h.ctx,
        principal("admin", o1=["tenant_admin"]),
        [
            PlacementRule(
                id="a",
                family="effect-monitor",
                theme="household_budget",
                phase_min=2,
                path_id=path_id,
                entry_point="aware",
            )
        ],
    )
    repo = await h.ctx.reader("t1")
    assert (
        await placement.on_response(repo, _response("r1", {"household_budget": 2}), h.clock.now)
        == []
    )
    events = await placement.on_measurement(repo, _measurement("r1"), h.clock.now)
    assert [e.data.step_id for e in events] == ["geld.lezen"]
    placed = (await placement.mine(h.ctx, RESIDENT))[0]
    assert placed.measurement_id == "m-1" and placed.phase == 2
    enrolment = await enrolments.start_own(h.ctx, RESIDENT, path_id)
    assert enrolment.entry_step == "geld.lezen" and enrolment.origin == "placement"


async def test_erasure_deletes_everything_and_keeps_the_figures() -> None:
    h = harness()
    module_id = await _published(h)
    enrolment = await enrolments.start_own(h.ctx, RESIDENT, module_id)
    await enrolments.save_answer(h.ctx, RESIDENT, enrolment.id, "schrijven", AnswerInput(text="x"))
    h.store().consents.add(("r1", "o1"))
    await progress.resident_progress(h.ctx, PRO, "o1", "r1")
    repo = await h.ctx.reader("t1")
    staged = await erasure.erase_person(repo, tenant="t1", person="r1", actor="r1")
    answer = staged[0].data
    assert answer.erased["enrolments"] == 1 and answer.erased["answers"] == 1
    assert answer.erased["consent_states"] == 1 and answer.anonymised["usage_facts"] == 1
    store = h.store()
    assert not store.enrolments and not store.answers and "r1" in store.erased
    assert all(r["resident"] != "r1" for r in store.access_log)
    assert [f.content_id for f in store.usage] == [module_id]
    assert "r1" not in str([f.model_dump() for f in store.usage])


async def test_survey_answers_count_for_the_modules_they_concern() -> None:
    h = harness()
    module_id = await _published(h)
    enrolment = await enrolments.start_own(h.ctx, RESIDENT, module_id)
    await enrolments.complete_step(h.ctx, RESIDENT, enrolment.id, "lezen")
    await enrolments.save_answer(h.ctx, RESIDENT, enrolment.id, "schrijven", AnswerInput(text="x"))
    await enrolments.complete_step(h.ctx, RESIDENT, enrolment.id, "schrijven")
    survey = new_event(
        ResponseSubmitted(
            response_id="s1",
            person_id="r1",
            instrument_id="client-satisfaction",
            family="client-satisfaction",
            variant="standard",
            version=1,
            purpose="survey",
            submitted_at=h.clock.now + timedelta(days=1),
            dimension_scores={"client_satisfaction": 8.0},
        ),
        tenant="t1",
        subject="s1",
        organisation="o1",
    )
    repo = await h.ctx.reader("t1")
    assert await surveys.on_survey(repo, survey) == 1
    assert h.store().surveys == {
        (module_id, "o1", "client-satisfaction", "client_satisfaction"): (8.0, 1)
    }
