"""Export of an instrument definition as a FHIR R4 Questionnaire (JSON dict)."""

from __future__ import annotations

from questionnaires.domain.definition import (
    AnswerScalar,
    EnableWhen,
    Group,
    InstrumentDefinition,
    Item,
    ScoringRule,
)
from questionnaires.domain.fhir_common import (
    EXT_ANSWER_TYPE,
    EXT_DIMENSION,
    EXT_DISCUSSABLE,
    EXT_FAMILY,
    EXT_ITEM_CONTROL,
    EXT_MAX,
    EXT_MIN,
    EXT_ORDINAL,
    EXT_PARAMETER,
    EXT_RESPONDENT,
    EXT_REVERSE,
    EXT_SCORING_RULE,
    EXT_SENSITIVE,
    EXT_VARIANT,
    ITEM_CONTROL_SYSTEM,
    JSON,
    option_system,
    put_text,
    questionnaire_url,
)
from questionnaires.domain.i18n import Language

_STATUS = {"draft": "draft", "published": "active", "retired": "retired"}


def fhir_item_type(item: Item) -> str:
    kind = item.answer_type
    if kind == "scale_0_10":
        return "integer"
    if kind == "number":
        return "integer" if item.integer_only else "decimal"
    if kind in ("single_choice", "multiple_choice"):
        return "choice"
    return "boolean" if kind == "yes_no" else "string"


def definition_to_fhir(definition: InstrumentDefinition) -> JSON:
    lang = definition.default_language
    q: JSON = {
        "resourceType": "Questionnaire",
        "id": definition.id,
        "url": questionnaire_url(definition.id),
        "version": str(definition.version),
        "status": _STATUS[definition.status],
        "language": lang,
    }
    put_text(q, "title", definition.title, lang)
    if definition.description:
        put_text(q, "description", definition.description, lang)
    ext: list[JSON] = [
        {"url": EXT_FAMILY, "valueCode": definition.family},
        {"url": EXT_VARIANT, "valueCode": definition.variant},
        {"url": EXT_RESPONDENT, "valueCode": definition.respondent},
    ]
    ext += [{"url": EXT_PARAMETER, "valueCode": p} for p in definition.parameters]
    ext += [_scoring_extension(rule) for rule in definition.scoring]
    q["extension"] = ext
    q["item"] = [_group(definition, g, lang) for g in definition.groups]
    return q


def _group(definition: InstrumentDefinition, group: Group, lang: Language) -> JSON:
    out: JSON = {"linkId": group.link_id}
    put_text(out, "text", group.title, lang)
    out["type"] = "group"
    out["item"] = [_item(definition, i, lang) for i in group.items]
    return _with_conditions(out, group.enable_when, group.enable_behavior, definition)


def _item(definition: InstrumentDefinition, item: Item, lang: Language) -> JSON:
    out: JSON = {"linkId": item.link_id}
    put_text(out, "text", item.text, lang)
    out["type"] = fhir_item_type(item)
    if item.required:
        out["required"] = True
    if item.answer_type == "multiple_choice":
        out["repeats"] = True
    if item.answer_type == "short_text" and item.max_length:
        out["maxLength"] = item.max_length
    ext: list[JSON] = [{"url": EXT_ANSWER_TYPE, "valueCode": item.answer_type}]
    if item.answer_type == "scale_0_10":
        ext += [
            {"url": EXT_MIN, "valueInteger": 0},
            {"url": EXT_MAX, "valueInteger": 10},
            {
                "url": EXT_ITEM_CONTROL,
                "valueCodeableConcept": {
                    "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": "slider"}]
                },
            },
        ]
    if item.answer_type == "number":
        kind = "Integer" if item.integer_only else "Decimal"
        for url, bound in ((EXT_MIN, item.min_value), (EXT_MAX, item.max_value)):
            if bound is not None:
                ext.append({"url": url, "value" + kind: int(bound) if item.integer_only else bound})
    if item.dimension:
        ext.append({"url": EXT_DIMENSION, "valueCode": item.dimension})
    for url, flag in (
        (EXT_SENSITIVE, item.sensitive),
        (EXT_DISCUSSABLE, item.discussable),
        (EXT_REVERSE, item.reverse_scored),
    ):
        if flag:
            ext.append({"url": url, "valueBoolean": True})
    out["extension"] = ext
    if item.options:
        options: list[JSON] = []
        for option in item.options:
            coding: JSON = {"system": option_system(definition.id), "code": option.code}
            put_text(coding, "display", option.label, lang)
            entry: JSON = {"valueCoding": coding}
            if option.score is not None:
                entry["extension"] = [{"url": EXT_ORDINAL, "valueDecimal": option.score}]
            options.append(entry)
        out["answerOption"] = options
    return _with_conditions(out, item.enable_when, item.enable_behavior, definition)


def _with_conditions(
    out: JSON, conditions: tuple[EnableWhen, ...], behavior: str, definition: InstrumentDefinition
) -> JSON:
    if not conditions:
        return out
    out["enableWhen"] = [_condition(c, definition) for c in conditions]
    if len(conditions) > 1:  # FHIR requires enableBehavior when there is more than one condition
        out["enableBehavior"] = behavior
    return out


def _condition(cond: EnableWhen, definition: InstrumentDefinition) -> JSON:
    out: JSON = {"question": cond.question, "operator": cond.operator}
    target = definition.item(cond.question)
    value: AnswerScalar = cond.answer
    if cond.operator == "exists" or isinstance(value, bool):
        out["answerBoolean"] = value
    elif target is not None and target.answer_type in ("single_choice", "multiple_choice"):
        out["answerCoding"] = {"system": option_system(definition.id), "code": value}
    elif isinstance(value, int):
        out["answerInteger"] = value
    elif isinstance(value, float):
        out["answerDecimal"] = value
    else:
        out["answerString"] = value
    return out


def _scoring_extension(rule: ScoringRule) -> JSON:
    parts: list[JSON] = [
        {"url": "dimension", "valueCode": rule.dimension},
        {"url": "method", "valueCode": rule.method},
        {"url": "outcome", "valueCode": rule.outcome},
    ]
    parts += [{"url": "item", "valueString": link_id} for link_id in rule.items]
    parts += [
        {
            "url": "band",
            "extension": [
                {"url": "min", "valueDecimal": band.min},
                {"url": "value", "valueInteger": band.value},
            ],
        }
        for band in rule.bands
    ]
    return {"url": EXT_SCORING_RULE, "extension": parts}


__all__ = ["definition_to_fhir", "fhir_item_type"]
