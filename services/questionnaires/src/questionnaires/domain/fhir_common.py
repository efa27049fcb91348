"""FHIR R4 constants and helpers shared by the Questionnaire export/import and the
QuestionnaireResponse export. JSON is written by hand from the R4 specification.

Our extension URLs (all ``https://wijkkracht.nl/fhir/StructureDefinition/<name>``):

======================  ==========================  ================================================
name                    on                          value
======================  ==========================  ================================================
instrument-family       Questionnaire               valueCode, e.g. ``health-self-assessment``
instrument-variant      Questionnaire               valueCode, e.g. ``short``
respondent              Questionnaire               valueCode resident | professional | staff
parameter               Questionnaire (repeats)     valueCode, a ``{name}`` placeholder
scoring-rule            Questionnaire (repeats)     complex: dimension (valueCode), method
                                                    (valueCode), outcome (valueCode), item
                                                    (valueString, repeats), band (complex: min
                                                    valueDecimal, value valueInteger; repeats)
answer-type             item                        valueCode, our exact answer type
                                                    (tells ``scale_0_10`` apart from integer)
dimension               item                        valueCode from the dimension crosswalk
sensitive               item                        valueBoolean, may be skipped
discussable             item                        valueBoolean, may be marked "talk about this"
reverse-scored          item                        valueBoolean
discussable             QuestionnaireResponse.item  valueBoolean, resident marked it
assisted                QuestionnaireResponse       valueBoolean, filled in with a professional
======================  ==========================  ================================================

Standard HL7 extensions used: translation (on ``_text``, ``_title``, ``_display``,
``_description``), minValue, maxValue, ordinalValue (option score on answerOption) and
questionnaire-itemControl (``slider`` for 0-10 scales, informative only).
"""

from __future__ import annotations

from typing import Any

from questionnaires.domain.i18n import LANGUAGES, Language, LocalizedText

BASE = "https://wijkkracht.nl/fhir"
EXT = f"{BASE}/StructureDefinition/"
EXT_FAMILY = EXT + "instrument-family"
EXT_VARIANT = EXT + "instrument-variant"
EXT_RESPONDENT = EXT + "respondent"
EXT_PARAMETER = EXT + "parameter"
EXT_SCORING_RULE = EXT + "scoring-rule"
EXT_ANSWER_TYPE = EXT + "answer-type"
EXT_DIMENSION = EXT + "dimension"
EXT_SENSITIVE = EXT + "sensitive"
EXT_DISCUSSABLE = EXT + "discussable"
EXT_REVERSE = EXT + "reverse-scored"
EXT_ASSISTED = EXT + "assisted"

HL7 = "http://hl7.org/fhir/StructureDefinition/"
EXT_TRANSLATION = HL7 + "translation"
EXT_MIN = HL7 + "minValue"
EXT_MAX = HL7 + "maxValue"
EXT_ORDINAL = HL7 + "ordinalValue"
EXT_ITEM_CONTROL = HL7 + "questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"

JSON = dict[str, Any]


def questionnaire_url(instrument_id: str) -> str:
    return f"{BASE}/Questionnaire/{instrument_id}"


def option_system(instrument_id: str) -> str:
    return f"{BASE}/CodeSystem/{instrument_id}"


def put_text(target: JSON, key: str, text: LocalizedText, primary: Language) -> None:
    """`key` in the primary language, the others as translation extensions on `_key`."""
    target[key] = text.get(primary)
    translations = [
        {
            "url": EXT_TRANSLATION,
            "extension": [
                {"url": "lang", "valueCode": lang},
                {"url": "content", "valueString": text.get(lang)},
            ],
        }
        for lang in LANGUAGES
        if lang != primary and text.has(lang)
    ]
    if translations:
        target["_" + key] = {"extension": translations}


def read_text(source: JSON, key: str, primary: Language) -> LocalizedText | None:
    values: dict[str, str] = {}
    base = source.get(key)
    if isinstance(base, str) and base:
        values[primary] = base
    element = source.get("_" + key)
    if isinstance(element, dict):
        for ext in element.get("extension", []) or []:
            if not isinstance(ext, dict) or ext.get("url") != EXT_TRANSLATION:
                continue
            parts = {p.get("url"): p for p in ext.get("extension", []) if isinstance(p, dict)}
            lang = str(parts.get("lang", {}).get("valueCode", "")).split("-")[0]
            content = parts.get("content", {}).get("valueString")
            if lang in LANGUAGES and isinstance(content, str) and content:
                values.setdefault(lang, content)
    if not values:
        return None
    return LocalizedText(nl=values.get("nl"), en=values.get("en"))


def extensions(source: JSON, url: str) -> list[JSON]:
    found = source.get("extension", [])
    if not isinstance(found, list):
        return []
    return [e for e in found if isinstance(e, dict) and e.get("url") == url]


def extension_value(source: JSON, url: str, kind: str) -> Any:
    """The `value<kind>` of the first extension with `url`, or None."""
    for ext in extensions(source, url):
        return ext.get("value" + kind)
    return None
