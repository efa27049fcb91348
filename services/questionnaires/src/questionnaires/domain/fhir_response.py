"""Export of a submitted response as a FHIR R4 QuestionnaireResponse (for sharing with a GP or
mental-health provider, only with the resident's explicit consent; the use case checks that).

Skipped items are left out entirely: even "skipped the question about X" is information the
resident chose not to share.
"""

from __future__ import annotations

import re

from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import InstrumentDefinition, Item
from questionnaires.domain.errors import DefinitionMismatch, LifecycleError
from questionnaires.domain.fhir_common import (
    EXT_ASSISTED,
    EXT_DISCUSSABLE,
    JSON,
    option_system,
    questionnaire_url,
)
from questionnaires.domain.response import Response

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def response_to_fhir(
    definition: InstrumentDefinition, response: Response, *, subject_type: str = "Patient"
) -> JSON:
    if not response.is_submitted or response.submitted_at is None:
        raise LifecycleError("only a submitted response can be exported")
    if (definition.id, definition.version) != (response.instrument_id, response.version):
        raise DefinitionMismatch("definition does not match the response's version")
    if not _FHIR_ID.match(response.id):
        raise ValueError("response id is not a valid FHIR id")
    lang = response.language
    out: JSON = {
        "resourceType": "QuestionnaireResponse",
        "id": response.id,
        "language": lang,
        "questionnaire": f"{questionnaire_url(definition.id)}|{definition.version}",
        "status": "completed",
        "authored": response.submitted_at.isoformat(),
    }
    if response.subject_id is not None:
        if not _FHIR_ID.match(response.subject_id):
            raise ValueError("subject id is not a valid FHIR id")
        out["subject"] = {"reference": f"{subject_type}/{response.subject_id}"}
    if response.assisted_by is not None:
        # Only the fact; who assisted is an internal identifier that stays on the platform.
        out["extension"] = [{"url": EXT_ASSISTED, "valueBoolean": True}]
    groups: list[JSON] = []
    for group in definition.groups:
        items = [
            _item(definition, item, response.answers[item.link_id], lang)
            for item in group.items
            if item.link_id in response.answers and response.answers[item.link_id].has_value
        ]
        if items:
            groups.append({"linkId": group.link_id, "text": group.title.get(lang), "item": items})
    out["item"] = groups
    return out


def _item(definition: InstrumentDefinition, item: Item, answer: ItemAnswer, lang: str) -> JSON:
    out: JSON = {
        "linkId": item.link_id,
        "text": item.text.get("nl" if lang == "nl" else "en"),
        "answer": [_value(definition, item, v) for v in _values(answer)],
    }
    if answer.discussable:
        out["extension"] = [{"url": EXT_DISCUSSABLE, "valueBoolean": True}]
    return out


def _values(answer: ItemAnswer) -> list[object]:
    return list(answer.value) if isinstance(answer.value, list) else [answer.value]


def _value(definition: InstrumentDefinition, item: Item, value: object) -> JSON:
    kind = item.answer_type
    if kind in ("single_choice", "multiple_choice"):
        option = item.option(str(value))
        coding: JSON = {"system": option_system(definition.id), "code": str(value)}
        if option is not None:
            coding["display"] = option.label.get(definition.default_language)
        return {"valueCoding": coding}
    if kind == "yes_no":
        return {"valueBoolean": bool(value)}
    if kind == "short_text":
        return {"valueString": str(value)}
    if kind == "scale_0_10" or (kind == "number" and item.integer_only):
        assert isinstance(value, int)
        return {"valueInteger": value}
    assert isinstance(value, int | float)
    return {"valueDecimal": value}


__all__ = ["response_to_fhir"]
