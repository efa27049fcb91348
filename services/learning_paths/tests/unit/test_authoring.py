"""Markdown authoring: every step kind, every issue with its path and line, round trip."""

from __future__ import annotations

import pytest
from learning_paths.domain.authoring import check_same_steps, parse_source, render_source
from learning_paths.domain.errors import InvalidContent

SOURCE = """---
title: Geld en administratie
summary: Grip op post en rekeningen.
theme: money
dimensions: [daily_functioning]
---

---
id: post
kind: text
title: Uw post ordenen
image: https://img.example/map.png
---
Leg alle post op één stapel.

***

Sorteer daarna.

---
kind: checklist
title: Wat heb ik al?
---
Kijk wat u heeft:
- [ ] Een map voor rekeningen
- [x] Een overzicht van vaste lasten

---
kind: quiz
title: Klopt het?
pass_score: 0.5
questions:
  - question: Wanneer betaalt u de huur?
    options: [Aan het begin van de maand, Als er geld over is]
    answer: 1
  - question: Wat bewaart u?
    options: [Loonstroken, Reclame, Belastingpost]
    answers: [1, 3]
---

---
kind: plan
title: Mijn plan
prompts:
  - Wat ga ik doen?
  - Wanneer?
---

---
kind: exercise
title: Waar loop ik tegenaan?
---
Schrijf op wat lastig is.

---
kind: local_offer
title: Hulp in de buurt
categories: [debt-help]
dimensions: [daily_functioning]
---
Hier vindt u hulp bij geldzaken.
"""


def test_every_step_kind_is_read() -> None:
    parsed = parse_source(SOURCE, "module")
    assert parsed.title == "Geld en administratie" and parsed.theme == "money"
    kinds = [s.kind for s in parsed.steps]
    assert kinds == ["text", "checklist", "quiz", "plan", "exercise", "local_offer"]
    text, checklist, quiz, plan, _exercise, offer = parsed.steps
    assert text.id == "post" and text.media[0].kind == "image" and "***" in text.body
    assert checklist.id == "stap-2" and checklist.items == (
        "Een map voor rekeningen",
        "Een overzicht van vaste lasten",
    )
    assert checklist.body == "Kijk wat u heeft:"
    assert [o.correct for o in quiz.questions[1].options] == [True, False, True]
    assert quiz.pass_score == 0.5
    assert plan.prompts == ("Wat ga ik doen?", "Wanneer?")
    assert offer.categories == ("debt-help",) and offer.dimensions == ("daily_functioning",)


def test_render_source_reads_back_the_same_steps() -> None:
    parsed = parse_source(SOURCE, "module")
    again = parse_source(
        render_source(
            title=parsed.title,
            summary=parsed.summary,
            theme=parsed.theme,
            dimensions=parsed.dimensions,
            steps=parsed.steps,
        ),
        "module",
    )
    assert again.steps == parsed.steps


def test_every_issue_is_listed_with_path_and_line() -> None:
    source = """---
title: Kapot
colour: blauw
---

---
id: Dubbel
kind: text
title: x
---

---
kind: quiz
title: q
questions:
  - question: ''
    options: [a, b]
    answer: 3
---

---
id: zelfde
kind: exercise
title: a
---
Doe iets.

---
id: zelfde
kind: checklist
title: b
---
"""
    with pytest.raises(InvalidContent) as caught:
        parse_source(source, "module")
    found = {(i.path, i.code): i.line for i in caught.value.issues}
    assert ("colour", "unknown_key") in found
    assert ("steps[0].id", "invalid_id") in found
    assert ("steps[1].questions[0].question", "required") in found
    assert ("steps[1].questions[0].answer", "invalid_answer") in found
    assert ("steps[3].items", "required") in found
    assert found[("steps[3].id", "duplicate_id")] == 28


def test_paths_have_module_items_and_entry_points() -> None:
    source = """---
title: Pad
entry_points:
  - {key: start, item: 1}
  - {key: verder, item: 2, label: Al bewust}
  - {key: te-ver, item: 9}
---

---
kind: text
title: Begin
---
Tekst.

---
kind: module
module: stress
---
"""
    with pytest.raises(InvalidContent) as caught:
        parse_source(source, "path")
    assert [i.path for i in caught.value.issues] == ["entry_points[2].item"]
    parsed = parse_source(source.replace("  - {key: te-ver, item: 9}\n", ""), "path")
    assert [p.key for p in parsed.entry_points] == ["start", "verder"]
    assert parsed.items[1].module_slug == "stress" and parsed.items[0].step is not None
    with pytest.raises(InvalidContent):
        parse_source(source, "module")  # modules have no module items nor entry points


def test_variants_must_share_their_steps() -> None:
    nl = parse_source(SOURCE, "module").steps
    check_same_steps({"nl": nl, "en": nl})
    with pytest.raises(InvalidContent) as caught:
        check_same_steps({"nl": nl, "en": nl[:2]})
    assert caught.value.issues[0].path == "variants.en.steps"


def test_unreadable_front_matter_is_one_issue_with_its_line() -> None:
    source = "---\ntitle: T\n---\n\n---\nkind: plan\ntitle: P\nprompts: [Wat nu?, Hoe?]\n---\n"
    with pytest.raises(InvalidContent) as caught:
        parse_source(source, "module")
    assert [(i.code, i.line) for i in caught.value.issues] == [("front_matter_syntax", 8)]
    assert "aanhalingstekens" in caught.value.issues[0].message.nl


def test_text_without_front_matter_is_refused() -> None:
    with pytest.raises(InvalidContent) as caught:
        parse_source("Zomaar wat tekst", "module")
    assert caught.value.issues[0].code == "no_front_matter"
