from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.catalog import shipped_instrument, shipped_instruments
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.errors import (
    DefinitionMismatch,
    InvalidResponse,
    LifecycleError,
    ResponseAlreadySubmitted,
)
from questionnaires.domain.response import Response
from questionnaires.domain.scoring import score_response

AnswersFor = Callable[..., dict[str, ItemAnswer]]


def start(definition: InstrumentDefinition, now: datetime, **kw: Any) -> Response:
    return Response.start(
        response_id="r-1", definition=definition, subject_id="p-42", language="nl", now=now, **kw
    )


def test_partial_save_merges_and_clears(health_short: InstrumentDefinition, now: datetime) -> None:
    r = start(health_short, now)
    r = r.save_answers(health_short, {"bf-1": ItemAnswer(value=6)}, now)
    r = r.save_answers(health_short, {"bf-2": ItemAnswer(value=3, discussable=True)}, now)
    assert set(r.answers) == {"bf-1", "bf-2"}
    r = r.save_answers(health_short, {"bf-1": ItemAnswer()}, now)  # empty answer clears
    assert set(r.answers) == {"bf-2"}
    assert r.status == "in_progress"


def test_partial_save_still_type_checks(health_short: InstrumentDefinition, now: datetime) -> None:
    r = start(health_short, now)
    with pytest.raises(InvalidResponse) as caught:
        r.save_answers(health_short, {"bf-1": ItemAnswer(value=12), "zz": ItemAnswer(value=1)}, now)
    assert {(e.link_id, e.code) for e in caught.value.errors} == {
        ("bf-1", "out_of_range"),
        ("zz", "unknown_item"),
    }
    assert r.answers == {}  # the failed save changed nothing


def test_submit_requires_completeness(health_short: InstrumentDefinition, now: datetime) -> None:
    r = start(health_short, now).save_answers(health_short, {"bf-1": ItemAnswer(value=6)}, now)
    with pytest.raises(InvalidResponse) as caught:
        r.submit(health_short, now)
    assert {e.code for e in caught.value.errors} == {"required"}
    assert len(caught.value.errors) == 16


def test_submitted_response_is_immutable(
    health_short: InstrumentDefinition, now: datetime, answers_for: AnswersFor
) -> None:
    r = start(health_short, now).save_answers(health_short, answers_for(health_short, 7), now)
    done = r.submit(health_short, now + timedelta(minutes=5))
    assert done.status == "submitted" and done.submitted_at == now + timedelta(minutes=5)
    with pytest.raises(ResponseAlreadySubmitted):
        done.save_answers(health_short, {"bf-1": ItemAnswer(value=1)}, now)
    with pytest.raises(ResponseAlreadySubmitted):
        done.submit(health_short, now)
    with pytest.raises(ValueError, match="frozen"):
        done.status = "in_progress"  # type: ignore[misc]


def test_response_is_pinned_to_its_version(
    health_short: InstrumentDefinition, now: datetime, answers_for: AnswersFor
) -> None:
    r = start(health_short, now)
    v2 = health_short.new_version(2).publish(now)
    with pytest.raises(DefinitionMismatch):
        r.save_answers(v2, answers_for(v2, 5), now)
    with pytest.raises(LifecycleError):
        start(health_short.new_version(3), now)  # drafts take no responses


def test_assisted_mode_is_recorded(health_short: InstrumentDefinition, now: datetime) -> None:
    r = start(health_short, now, assisted_by="staff-7")
    assert r.assisted_by == "staff-7"
    later = start(health_short, now).save_answers(
        health_short, {"bf-1": ItemAnswer(value=5)}, now, assisted_by="vol-3"
    )
    assert later.assisted_by == "vol-3"


def _expected_dimension_means(definition: InstrumentDefinition, value: int) -> dict[str, float]:
    """Independent oracle for the six-dimension instruments: mean with reversed items."""
    sums: dict[str, list[float]] = {}
    for item in definition.items():
        assert item.dimension
        sums.setdefault(item.dimension, []).append(10 - value if item.reverse_scored else value)
    return {d: round(sum(v) / len(v), 2) for d, v in sums.items()}


HEALTH = [d for d in shipped_instruments() if d.family == "health-self-assessment"]


@pytest.mark.parametrize("definition", HEALTH, ids=lambda d: d.variant)
@pytest.mark.parametrize("value", [0, 4, 10])
def test_every_health_variant_scores_a_full_response(
    definition: InstrumentDefinition, value: int, now: datetime, answers_for: AnswersFor
) -> None:
    r = start(definition, now).save_answers(definition, answers_for(definition, value), now)
    result = r.submit(definition, now).result
    assert result is not None
    assert (result.family, result.variant, result.version) == (
        definition.family,
        definition.variant,
        definition.version,
    )
    got = {d.dimension: d.score for d in result.dimension_scores}
    assert got == _expected_dimension_means(definition, value)
    assert result.answered_count == len(list(definition.items()))
    assert result.skipped_count == result.discussable_count == 0


def test_reverse_scored_item_turns_around(now: datetime, answers_for: AnswersFor) -> None:
    full = shipped_instrument("health-full")
    answers = answers_for(full, 10)
    answers["bf-2"] = ItemAnswer(value=0)  # "bothered by pain": 0 is the best answer
    assert score_response(full, answers).score_of("bodily_functions") == 10.0


def test_skipped_items_leave_the_mean_and_are_counted(
    health_short: InstrumentDefinition, now: datetime, answers_for: AnswersFor
) -> None:
    answers = answers_for(health_short, 8)
    sensitive = [i for i in health_short.items() if i.sensitive]
    for item in sensitive:
        answers[item.link_id] = ItemAnswer(skipped=True)
    answers["bf-1"] = ItemAnswer(value=8, discussable=True)
    r = start(health_short, now).save_answers(health_short, answers, now).submit(health_short, now)
    assert r.result is not None
    assert r.result.skipped_count == len(sensitive)
    assert r.result.discussable_count == 1
    assert r.result.discussable_dimensions == ("bodily_functions",)
    # mental_wellbeing: mw-3 (reversed) skipped, mw-4 and mw-7 at 8
    assert r.result.score_of("mental_wellbeing") == 8.0


@pytest.mark.parametrize(("pick", "phase"), [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)])
def test_effect_monitor_maps_answers_to_phases(
    effect_monitor: InstrumentDefinition, pick: int, phase: int, answers_for: AnswersFor
) -> None:
    result = score_response(effect_monitor, answers_for(effect_monitor, pick))
    assert result.phases == {
        "informal_care": phase,
        "relationship": phase,
        "household_budget": phase,
    }
    assert result.levels == {}


def test_effect_monitor_theme_without_gate_has_no_phase(
    effect_monitor: InstrumentDefinition, now: datetime, answers_for: AnswersFor
) -> None:
    answers = answers_for(effect_monitor, 2)
    answers = {k: a for k, a in answers.items() if not k.startswith("ic-")}
    answers["ic-0"] = ItemAnswer(value=False)  # no informal care: the theme's questions go away
    answers["hb-1"] = ItemAnswer(value="5")
    r = start(effect_monitor, now).save_answers(effect_monitor, answers, now)
    result = r.submit(effect_monitor, now).result
    assert result is not None
    assert "informal_care" not in result.phases
    assert result.phases["household_budget"] == 4  # mean of 5 and 3 -> 7.5 on 0-10
    with pytest.raises(InvalidResponse):
        r.save_answers(effect_monitor, {"ic-1": ItemAnswer(value="2")}, now)


def test_self_sufficiency_levels(answers_for: AnswersFor) -> None:
    ssm = shipped_instrument("self-sufficiency-matrix")
    answers = answers_for(ssm, 0)
    answers["ssm-1"] = ItemAnswer(value="4")
    result = score_response(ssm, answers)
    assert len(result.levels) == 13
    assert result.levels["finances"] == 4
    assert result.levels["housing"] == 1
    assert result.phases == {}


def test_satisfaction_and_technology_acceptance_scores(answers_for: AnswersFor) -> None:
    cs = shipped_instrument("client-satisfaction")
    answers = answers_for(cs, 10)  # 10/10, "Helemaal", "Helemaal", yes
    assert score_response(cs, answers).score_of("client_satisfaction") == 10.0
    tam = shipped_instrument("technology-acceptance")
    result = score_response(tam, answers_for(tam, 2))  # "Neutraal" everywhere
    assert {d.score for d in result.dimension_scores} == {5.0}


def test_result_carries_no_free_text(answers_for: AnswersFor, now: datetime) -> None:
    cs = shipped_instrument("client-satisfaction")
    answers = answers_for(cs, 10)
    answers["cs-6"] = ItemAnswer(value="Mijn buurvrouw Ans hielp heel goed")
    done = start(cs, now).save_answers(cs, answers, now).submit(cs, now)
    assert done.result is not None
    assert "Ans" not in done.result.model_dump_json()


def test_sum_method_maps_to_ten(minimal_data: dict[str, Any]) -> None:
    minimal_data["scoring"] = [
        {"dimension": "custom.demo", "items": ["q3", "q5"], "method": "sum"},
    ]
    demo = InstrumentDefinition.model_validate(minimal_data)
    answers = {"q3": ItemAnswer(value="b"), "q5": ItemAnswer(value=0)}
    # (2 + 0) - (1 + 0) over (2 + 120) - (1 + 0) -> 1/121 of 10
    assert score_response(demo, answers).score_of("custom.demo") == round(10 / 121, 2)


# --- submit with final answers: one validation pass, same outcome as save + submit ----------


def test_submit_with_answers_equals_save_then_submit(
    health_short: InstrumentDefinition, now: datetime, answers_for: AnswersFor
) -> None:
    answers = answers_for(health_short, 6)
    first = dict(list(answers.items())[:3])
    r = start(health_short, now).save_answers(health_short, first, now)
    later = now + timedelta(minutes=5)
    one_pass = r.submit(health_short, later, answers)
    two_steps = r.save_answers(health_short, answers, later).submit(health_short, later)
    assert one_pass == two_steps
    assert one_pass.status == "submitted" and one_pass.answers == answers


def test_submit_with_bad_answers_reports_them_as_a_save_would(
    health_short: InstrumentDefinition, now: datetime
) -> None:
    r = start(health_short, now)
    bad = {"bf-1": ItemAnswer(value=12), "zz": ItemAnswer(value=1)}
    with pytest.raises(InvalidResponse) as saving:
        r.save_answers(health_short, bad, now)
    with pytest.raises(InvalidResponse) as submitting:
        r.submit(health_short, now, bad)
    # The answers' own problems only, not the 15 "required" of the unanswered items.
    assert submitting.value.errors == saving.value.errors
    assert {(e.link_id, e.code) for e in submitting.value.errors} == {
        ("bf-1", "out_of_range"),
        ("zz", "unknown_item"),
    }


def test_submit_with_valid_but_incomplete_answers_lists_what_is_missing(
    health_short: InstrumentDefinition, now: datetime
) -> None:
    r = start(health_short, now)
    with pytest.raises(InvalidResponse) as caught:
        r.submit(health_short, now, {"bf-1": ItemAnswer(value=6)})
    assert {e.code for e in caught.value.errors} == {"required"}
    assert len(caught.value.errors) == 16


def test_submit_with_an_empty_answer_clears_it(
    health_short: InstrumentDefinition, now: datetime, answers_for: AnswersFor
) -> None:
    answers = answers_for(health_short, 6)
    r = start(health_short, now).save_answers(health_short, answers, now)
    cleared = next(i.link_id for i in health_short.items() if i.required)
    with pytest.raises(InvalidResponse) as caught:
        r.submit(health_short, now, {cleared: ItemAnswer()})
    assert [(e.link_id, e.code) for e in caught.value.errors] == [(cleared, "required")]
