"""Rules of the learning and market pages without I/O: what a step's form becomes, where a
resident goes next, where a path may be entered, what a post form sends and refuses."""

from __future__ import annotations

from starlette.datastructures import FormData

from portal.api import ApiError
from portal.pages.learning import answer_body, entry_steps, in_lang, next_step, problem_messages
from portal.pages.market import PostForm

QUIZ = {"questions": [{"id": "q1", "options": ["a", "b"]}, {"id": "q2", "options": ["c", "d"]}]}


def test_each_step_kind_sends_only_its_own_answer_field() -> None:
    assert answer_body("exercise", {}, FormData([("text", "  mijn antwoord ")])) == {
        "text": "mijn antwoord"
    }
    plan = {"prompts": ["Wat?", "Wanneer?"]}
    assert answer_body("plan", plan, FormData([("plan-1", "wandelen"), ("plan-9", "x")])) == {
        "plan": {"1": "wandelen", "2": ""}
    }
    checklist = {"items": ["een", "twee", "drie"]}
    form = FormData([("checked", "3"), ("checked", "1"), ("checked", "7"), ("checked", "x")])
    assert answer_body("checklist", checklist, form) == {"checked": [1, 3]}
    picked = FormData([("q-q1", "2"), ("q-q2", "")])
    assert answer_body("quiz", QUIZ, picked) == {"choices": {"q1": [2]}}
    assert answer_body("text", {}, FormData()) is None
    assert answer_body("local_offer", {}, FormData([("text", "x")])) is None


def test_the_next_step_follows_the_module_order() -> None:
    steps = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert next_step(steps, "a") == "b"
    assert next_step(steps, "c") is None
    assert next_step(steps, "gone") is None


def test_a_path_is_entered_at_the_first_step_of_each_entry_point() -> None:
    version = {
        "steps": [
            {"id": "s1", "title": "Een", "item": 1},
            {"id": "s2", "title": "Twee", "item": 1},
            {"id": "s3", "title": "Drie", "item": 3},
        ],
        "entry_points": [
            {"key": "niet-bewust", "item": 1, "label": "Nog niet bewust"},
            {"key": "bewust", "item": 3, "label": "Bewust"},
            {"key": "kwijt", "item": 9, "label": "Bestaat niet meer"},
        ],
    }
    found = entry_steps(version)
    assert [(e["key"], e["step_id"], e["step_title"]) for e in found] == [
        ("niet-bewust", "s1", "Een"),
        ("bewust", "s3", "Drie"),
    ]


def test_service_messages_are_shown_in_the_readers_language() -> None:
    assert in_lang("Schrijf eerst uw antwoord. / Write your answer first.", "en") == (
        "Write your answer first."
    )
    assert in_lang("Alleen Nederlands", "en") == "Alleen Nederlands"
    error = ApiError(
        422,
        {
            "detail": "Klopt niet. / Invalid.",
            "errors": [{"field": "choices", "message": "Probeer opnieuw. / Try again."}],
        },
    )
    assert problem_messages(error, "nl") == ["Probeer opnieuw."]
    assert problem_messages(ApiError(409, {"detail": "Al klaar. / Done."}), "en") == ["Done."]


def _post(**fields: str | list[str]) -> PostForm:
    items: list[tuple[str, str]] = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((name, one))
    return PostForm.read(FormData(items))


def test_a_post_form_becomes_the_marketplace_body() -> None:
    post = _post(
        kind="offer",
        category="shopping",
        text=" Ik doe boodschappen ",
        timing="recurring",
        weekdays=["3", "0", "9"],
        part_of_day="morning",
        visibility="neighbourhood",
        radius_km="5",
    )
    assert post.problems({"shopping"}) == []
    assert post.body() == {
        "kind": "offer",
        "category": "shopping",
        "text": "Ik doe boodschappen",
        "when": {"timing": "recurring", "weekdays": [0, 3], "part_of_day": "morning"},
        "visibility": "neighbourhood",
        "radius_km": 5.0,
    }
    once = _post(category="shopping", text="x", timing="once", on="2027-03-01", radius_km="99")
    assert once.body()["when"] == {"timing": "once", "on": "2027-03-01"}
    assert once.body()["radius_km"] == 3.0  # an unknown radius falls back to the default


def test_a_post_form_names_every_missing_part() -> None:
    empty = _post(kind="evil", timing="once", visibility="group")
    assert empty.kind == "request"
    assert empty.problems({"shopping"}) == [
        "market_error_category",
        "market_error_text",
        "market_error_date",
        "market_error_group",
    ]
    weekly = _post(category="shopping", text="x", timing="recurring")
    assert weekly.problems({"shopping"}) == ["market_error_weekdays"]
    assert len(_post(text="x" * 900).text) == 500
