from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.catalog import shipped_instrument, shipped_instruments
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.errors import LifecycleError
from questionnaires.domain.fhir_common import EXT_DIMENSION, EXT_TRANSLATION
from questionnaires.domain.fhir_import import import_fhir_questionnaire
from questionnaires.domain.fhir_questionnaire import definition_to_fhir
from questionnaires.domain.fhir_response import response_to_fhir
from questionnaires.domain.importing import import_definition_json
from questionnaires.domain.response import Response

AnswersFor = Callable[..., dict[str, ItemAnswer]]
LIFECYCLE = {"status", "published_at", "retired_at"}


@pytest.mark.parametrize("definition", shipped_instruments(), ids=lambda d: d.id)
def test_fhir_round_trip_gives_an_equivalent_definition(definition: InstrumentDefinition) -> None:
    exported = json.loads(json.dumps(definition_to_fhir(definition)))  # through real JSON
    result = import_fhir_questionnaire(exported)
    assert result.issues == []
    assert result.definition is not None
    assert result.definition.status == "draft"  # imports are reviewed before publishing
    assert result.definition.model_dump(exclude=LIFECYCLE) == definition.model_dump(
        exclude=LIFECYCLE
    )


def test_exported_questionnaire_structure() -> None:
    q = definition_to_fhir(shipped_instrument("effect-monitor"))
    assert q["resourceType"] == "Questionnaire"
    assert (q["status"], q["version"], q["language"]) == ("active", "1", "nl")
    assert q["url"].endswith("/Questionnaire/effect-monitor")
    group = q["item"][0]
    assert group["type"] == "group"
    gate, stage = group["item"][0], group["item"][1]
    assert gate["type"] == "boolean"
    assert stage["type"] == "choice"
    assert stage["enableWhen"] == [{"question": "ic-0", "operator": "=", "answerBoolean": True}]
    assert stage["answerOption"][0]["valueCoding"]["code"] == "1"
    translation = stage["_text"]["extension"][0]
    assert translation["url"] == EXT_TRANSLATION
    assert {"url": EXT_DIMENSION, "valueCode": "informal_care"} in stage["extension"]


def _fhir_minimal() -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "id": "org-survey",
        "status": "active",
        "language": "nl-NL",
        "title": "Buurtpeiling",
        "item": [
            {"linkId": "a", "text": "Woont u hier graag?", "type": "boolean", "required": True},
            {
                "linkId": "grp",
                "type": "group",
                "text": "Over u",
                "item": [
                    {"linkId": "age", "text": "Leeftijd", "type": "integer"},
                    {
                        "linkId": "why",
                        "text": "Waarom?",
                        "type": "choice",
                        "repeats": True,
                        "enableWhen": [{"question": "a", "operator": "=", "answerBoolean": True}],
                        "answerOption": [
                            {"valueCoding": {"code": "rust", "display": "Rust"}},
                            {"valueCoding": {"code": "buren", "display": "Buren"}},
                            {"valueCoding": {"code": "groen", "display": "Groen"}},
                            {"valueCoding": {"code": "winkels", "display": "Winkels"}},
                        ],
                    },
                ],
            },
        ],
    }


def test_plain_fhir_questionnaire_from_another_tool_imports() -> None:
    result = import_fhir_questionnaire(_fhir_minimal())
    assert result.issues == [] and result.definition is not None
    d = result.definition
    assert d.languages == ("nl",) and d.variant == "default"
    assert [g.link_id for g in d.groups] == ["a-group", "grp"]
    why = d.item("why")
    assert why is not None and why.answer_type == "multiple_choice"
    age = d.item("age")
    assert age is not None and age.answer_type == "number" and age.integer_only


@pytest.mark.parametrize(
    ("mutate", "path", "code"),
    [
        (
            lambda q: q["item"][1]["item"][1]["answerOption"][3].pop("valueCoding"),
            "item[1].item[1].answerOption[3]",
            "unsupported_option",
        ),
        (
            lambda q: q["item"][1]["item"][1]["answerOption"][3]["valueCoding"].update(code="rust"),
            "item[1].item[1].answerOption[3].valueCoding.code",
            "duplicate_option_code",
        ),
        (
            lambda q: q["item"][1]["item"][1]["answerOption"][2]["valueCoding"].update(
                code="met spatie"
            ),
            "item[1].item[1].answerOption[2].valueCoding.code",
            "string_pattern_mismatch",
        ),
        (
            lambda q: q["item"][1]["item"][0].update(type="attachment"),
            "item[1].item[0].type",
            "unsupported_type",
        ),
        (
            lambda q: q["item"][1]["item"].append({"linkId": "n", "type": "group", "item": []}),
            "item[1].item[2]",
            "nested_group",
        ),
        (
            lambda q: q["item"][1]["item"][1]["enableWhen"][0].update(question="zz"),
            "item[1].item[1].enableWhen[0].question",
            "unknown_question",
        ),
        (
            lambda q: q["item"][1]["item"][0].update(linkId="a"),
            "item[1].item[0].linkId",
            "duplicate_link_id",
        ),
        (lambda q: q.update(language="de"), "language", "unsupported_language"),
    ],
)
def test_fhir_import_errors_point_at_the_fhir_path(mutate: Any, path: str, code: str) -> None:
    q = copy.deepcopy(_fhir_minimal())
    mutate(q)
    result = import_fhir_questionnaire(q)
    assert result.definition is None  # all or nothing
    assert (path, code) in {(i.path, i.code) for i in result.issues}, result.issues


def test_fhir_import_rejects_other_resources_and_bad_json() -> None:
    assert import_fhir_questionnaire({"resourceType": "Patient"}).issues[0].code == (
        "not_a_questionnaire"
    )
    assert import_fhir_questionnaire("{nope").issues[0].code == "invalid_json"


def test_own_format_import_is_all_or_nothing(minimal_data: dict[str, Any]) -> None:
    ok = import_definition_json(json.dumps(minimal_data))
    assert ok.ok and ok.definition is not None and ok.definition.status == "draft"
    minimal_data["status"] = "published"
    assert import_definition_json(minimal_data).definition.status == "draft"  # type: ignore[union-attr]
    minimal_data["groups"][0]["items"][2]["options"][1]["label"] = {}
    minimal_data["groups"][0]["items"][4]["answer_type"] = "date"
    bad = import_definition_json(minimal_data)
    assert bad.definition is None
    assert {i.path for i in bad.issues} == {
        "groups[0].items[2].options[1].label",
        "groups[0].items[4].answer_type",
    }


def test_questionnaire_response_export(now: datetime, answers_for: AnswersFor) -> None:
    cs = shipped_instrument("client-satisfaction")
    answers = answers_for(cs, 8)
    answers["cs-5"] = ItemAnswer(value=["phone", "online"])
    answers["cs-6"] = ItemAnswer(value="Sneller terugbellen")
    r = Response.start(
        response_id="resp-1",
        definition=cs,
        subject_id="p-42",
        language="nl",
        now=now,
        assisted_by="staff-1",
    )
    with pytest.raises(LifecycleError):
        response_to_fhir(cs, r)
    done = r.save_answers(cs, answers, now).submit(cs, now)
    qr = response_to_fhir(cs, done)
    json.dumps(qr)
    assert qr["resourceType"] == "QuestionnaireResponse"
    assert qr["questionnaire"].endswith("/Questionnaire/client-satisfaction|1")
    assert qr["status"] == "completed"
    assert qr["authored"] == now.isoformat()
    assert qr["subject"] == {"reference": "Patient/p-42"}
    items = {i["linkId"]: i for i in qr["item"][0]["item"]}
    assert items["cs-1"]["answer"] == [{"valueInteger": 8}]
    assert qr["extension"][0]["valueBoolean"] is True  # assisted, without saying by whom
    assert "staff-1" not in json.dumps(qr)
    assert items["cs-2"]["answer"][0]["valueCoding"]["code"] == "4"
    assert items["cs-4"]["answer"] == [{"valueBoolean": True}]
    assert [a["valueCoding"]["code"] for a in items["cs-5"]["answer"]] == ["phone", "online"]
    assert items["cs-6"]["answer"] == [{"valueString": "Sneller terugbellen"}]


def test_questionnaire_response_leaves_out_skipped_items(
    now: datetime, answers_for: AnswersFor
) -> None:
    short = shipped_instrument("health-short")
    answers = answers_for(short, 5)
    answers["ql-3"] = ItemAnswer(skipped=True)
    answers["bf-1"] = ItemAnswer(value=5, discussable=True)
    done = (
        Response.start(response_id="r2", definition=short, subject_id=None, language="en", now=now)
        .save_answers(short, answers, now)
        .submit(short, now)
    )
    qr = response_to_fhir(short, done)
    link_ids = {i["linkId"] for g in qr["item"] for i in g["item"]}
    assert "ql-3" not in link_ids and "ql-1" in link_ids
    assert "subject" not in qr  # anonymous self-assessment
    first = qr["item"][0]["item"][0]
    assert first["text"] == "I feel physically healthy."
    assert first["extension"][0]["valueBoolean"] is True  # "I want to talk about this"
