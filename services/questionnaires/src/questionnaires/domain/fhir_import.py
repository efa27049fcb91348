"""Import of a FHIR R4 Questionnaire into an instrument definition: all or nothing.

Supported: groups one level deep (top-level questions are wrapped in one implicit group), item
types integer, decimal, choice (repeats -> multiple choice), boolean, string/text; answerOption
with valueCoding; enableWhen/enableBehavior; our extensions (see `fhir_common`). Anything else
is reported, never silently dropped. Problems carry FHIR paths such as
``item[2].item[0].answerOption[3]``. The result is always a draft.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from questionnaires.domain.errors import DefinitionIssue
from questionnaires.domain.fhir_common import (
    EXT_ANSWER_TYPE,
    EXT_DIMENSION,
    EXT_DISCUSSABLE,
    EXT_FAMILY,
    EXT_MAX,
    EXT_MIN,
    EXT_ORDINAL,
    EXT_PARAMETER,
    EXT_RESPONDENT,
    EXT_REVERSE,
    EXT_SCORING_RULE,
    EXT_SENSITIVE,
    EXT_VARIANT,
    JSON,
    extension_value,
    extensions,
    read_text,
)
from questionnaires.domain.i18n import LANGUAGES, Language, t
from questionnaires.domain.importing import ROOT, ImportResult, build_definition

# FHIR item type -> answer types our `answer-type` extension may refine it to.
_TYPES: dict[str, tuple[str, ...]] = {
    "integer": ("number", "scale_0_10"),
    "decimal": ("number",),
    "choice": ("single_choice", "multiple_choice"),
    "boolean": ("yes_no",),
    "string": ("short_text",),
    "text": ("short_text",),
}
_ANSWER_KEYS = ("answerBoolean", "answerInteger", "answerDecimal", "answerString", "answerCoding")
# Field names of our format -> FHIR, for pointing at the element a rules check complained about.
_RENAME = {
    "options": "answerOption",
    "label": "valueCoding.display",
    "code": "valueCoding.code",
    "score": "extension",
    "enable_when": "enableWhen",
    "enable_behavior": "enableBehavior",
    "answer": "answer[x]",
    "link_id": "linkId",
    "title": "text",
    "max_length": "maxLength",
    "min_value": "extension",
    "max_value": "extension",
    "dimension": "extension",
    "reverse_scored": "extension",
    "answer_type": "type",
    "languages": "language",
}
_TOKEN = re.compile(r"\.?([A-Za-z_]+)|\[(\d+)\]")


def import_fhir_questionnaire(data: str | bytes | Mapping[str, Any]) -> ImportResult:
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            return ImportResult(
                issues=[
                    _issue(
                        ROOT, "invalid_json", f"Geen geldige JSON: {exc}", f"Not valid JSON: {exc}"
                    )
                ]
            )
    if not isinstance(data, Mapping) or data.get("resourceType") != "Questionnaire":
        return ImportResult(
            issues=[
                _issue(
                    "resourceType",
                    "not_a_questionnaire",
                    "Verwacht een FHIR Questionnaire",
                    "Expected a FHIR Questionnaire",
                )
            ]
        )
    builder = _Builder()
    payload = builder.build(dict(data))
    if builder.issues:
        return ImportResult(issues=builder.issues)
    return build_definition(payload, translate=builder.translate)


def _issue(path: str, code: str, nl: str, en: str) -> DefinitionIssue:
    return DefinitionIssue(path=path, code=code, message=t(nl, en))


class _Builder:
    def __init__(self) -> None:
        self.issues: list[DefinitionIssue] = []
        self.paths: dict[str, str] = {}  # our path prefix -> FHIR path prefix
        self.lang: Language = "nl"

    def fail(self, path: str, code: str, nl: str, en: str) -> None:
        self.issues.append(_issue(path, code, nl, en))

    # --- questionnaire ---------------------------------------------------------------------------
    def build(self, q: JSON) -> JSON:
        lang = str(q.get("language") or "nl").split("-")[0]
        if lang in LANGUAGES:
            self.lang = "nl" if lang == "nl" else "en"
        else:
            self.fail(
                "language",
                "unsupported_language",
                f"Taal '{lang}' wordt niet ondersteund",
                f"Language '{lang}' is not supported",
            )
        title = read_text(q, "title", self.lang)
        languages = [self.lang] + [
            x for x in LANGUAGES if x != self.lang and title and title.has(x)
        ]
        instrument_id = q.get("id") or str(q.get("url") or "").rstrip("/").rsplit("/", 1)[-1]
        version_text = str(q.get("version") or "1")
        if not version_text.isdigit():
            self.fail(
                "version",
                "invalid_version",
                "Versie moet een geheel getal zijn",
                "Version must be a whole number",
            )
        payload: JSON = {
            "id": instrument_id,
            "family": extension_value(q, EXT_FAMILY, "Code") or instrument_id,
            "variant": extension_value(q, EXT_VARIANT, "Code") or "default",
            "version": int(version_text) if version_text.isdigit() else 1,
            "status": "draft",
            "respondent": extension_value(q, EXT_RESPONDENT, "Code") or "resident",
            "languages": languages,
            "title": title.model_dump() if title else None,
            "parameters": [e.get("valueCode") for e in extensions(q, EXT_PARAMETER)],
            "groups": self._groups(q, title.model_dump() if title else None),
            "scoring": self._scoring(q),
        }
        description = read_text(q, "description", self.lang)
        if description:
            payload["description"] = description.model_dump()
        for key, fhir in (
            ("family", EXT_FAMILY),
            ("variant", EXT_VARIANT),
            ("respondent", EXT_RESPONDENT),
        ):
            self.paths[key] = f"extension({fhir.rsplit('/', 1)[-1]})"
        return payload

    def _groups(self, q: JSON, title: JSON | None) -> list[JSON]:
        groups: list[JSON] = []
        implicit: JSON | None = None
        for index, node in enumerate(_list(q.get("item"))):
            path = f"item[{index}]"
            if not isinstance(node, dict):
                self.fail(path, "invalid_item", "Ongeldig item", "Invalid item")
                continue
            if node.get("type") == "group":
                implicit = None
                g = len(groups)
                self.paths[f"groups[{g}]"] = path
                groups.append(self._group(node, path, g))
                continue
            if implicit is None:  # a run of top-level questions becomes one group
                implicit = {
                    "link_id": f"{node.get('linkId', 'q')}-group",
                    "title": title,
                    "items": [],
                }
                self.paths[f"groups[{len(groups)}]"] = path
                groups.append(implicit)
            converted = self._item(
                node, path, f"groups[{len(groups) - 1}].items[{len(implicit['items'])}]"
            )
            if converted is not None:
                implicit["items"].append(converted)
        if not groups:
            self.fail(
                "item", "no_items", "Vragenlijst zonder vragen", "Questionnaire without items"
            )
        return groups

    def _group(self, node: JSON, path: str, g: int) -> JSON:
        group: JSON = {"link_id": node.get("linkId"), "items": []}
        text = read_text(node, "text", self.lang)
        group["title"] = text.model_dump() if text else None
        self._conditions(node, path, group)
        for index, child in enumerate(_list(node.get("item"))):
            child_path = f"{path}.item[{index}]"
            if not isinstance(child, dict):
                self.fail(child_path, "invalid_item", "Ongeldig item", "Invalid item")
            elif child.get("type") == "group":
                self.fail(
                    child_path,
                    "nested_group",
                    "Groepen in groepen worden niet ondersteund",
                    "Nested groups are not supported",
                )
            else:
                converted = self._item(
                    child, child_path, f"groups[{g}].items[{len(group['items'])}]"
                )
                if converted is not None:
                    group["items"].append(converted)
        return group

    # --- items ----------------------------------------------------------------------------------
    def _item(self, node: JSON, path: str, ours: str) -> JSON | None:
        self.paths[ours] = path
        fhir_type = node.get("type")
        allowed = _TYPES.get(str(fhir_type))
        if allowed is None:
            self.fail(
                f"{path}.type",
                "unsupported_type",
                f"Itemtype '{fhir_type}' wordt niet ondersteund",
                f"Item type '{fhir_type}' is not supported",
            )
            return None
        refined = extension_value(node, EXT_ANSWER_TYPE, "Code")
        if refined is not None and refined not in allowed:
            self.fail(
                f"{path}.extension",
                "invalid_answer_type",
                "answer-type past niet bij type",
                "answer-type does not fit type",
            )
            return None
        answer_type = refined or allowed[0]
        if fhir_type == "choice" and refined is None and node.get("repeats"):
            answer_type = "multiple_choice"
        text = read_text(node, "text", self.lang)
        item: JSON = {
            "link_id": node.get("linkId"),
            "text": text.model_dump() if text else None,
            "answer_type": answer_type,
            "required": bool(node.get("required", False)),
            "sensitive": bool(extension_value(node, EXT_SENSITIVE, "Boolean")),
            "discussable": bool(extension_value(node, EXT_DISCUSSABLE, "Boolean")),
            "reverse_scored": bool(extension_value(node, EXT_REVERSE, "Boolean")),
        }
        dimension = extension_value(node, EXT_DIMENSION, "Code")
        if dimension is not None:
            item["dimension"] = dimension
        if answer_type == "number":
            item["integer_only"] = fhir_type == "integer"
            for key, url in (("min_value", EXT_MIN), ("max_value", EXT_MAX)):
                bound = extension_value(
                    node, url, "Integer" if fhir_type == "integer" else "Decimal"
                )
                if bound is not None:
                    item[key] = bound
        if answer_type == "short_text" and node.get("maxLength") is not None:
            item["max_length"] = node.get("maxLength")
        if "answerValueSet" in node:
            self.fail(
                f"{path}.answerValueSet",
                "unsupported_value_set",
                "Gebruik answerOption in plaats van answerValueSet",
                "Use answerOption instead of answerValueSet",
            )
        options = []
        for k, option in enumerate(_list(node.get("answerOption"))):
            converted = self._option(option, f"{path}.answerOption[{k}]")
            if converted is not None:
                options.append(converted)
        if options:
            item["options"] = options
        self._conditions(node, path, item)
        return item

    def _option(self, option: Any, path: str) -> JSON | None:
        coding = option.get("valueCoding") if isinstance(option, dict) else None
        if not isinstance(coding, dict):
            self.fail(
                path,
                "unsupported_option",
                "Alleen answerOption.valueCoding wordt ondersteund",
                "Only answerOption.valueCoding is supported",
            )
            return None
        label = read_text(coding, "display", self.lang)
        score = extension_value(option, EXT_ORDINAL, "Decimal")
        if score is None:
            score = extension_value(option, EXT_ORDINAL, "Integer")
        return {
            "code": coding.get("code"),
            "label": label.model_dump() if label else None,
            "score": score,
        }

    def _conditions(self, node: JSON, path: str, target: JSON) -> None:
        conditions = []
        for k, cond in enumerate(_list(node.get("enableWhen"))):
            cond_path = f"{path}.enableWhen[{k}]"
            keys = [key for key in _ANSWER_KEYS if isinstance(cond, dict) and key in cond]
            if not isinstance(cond, dict) or len(keys) != 1:
                self.fail(
                    cond_path,
                    "invalid_condition",
                    "enableWhen heeft precies één answer[x] nodig",
                    "enableWhen needs exactly one answer[x]",
                )
                continue
            answer = cond[keys[0]]
            if keys[0] == "answerCoding":
                answer = answer.get("code") if isinstance(answer, dict) else None
            conditions.append(
                {
                    "question": cond.get("question"),
                    "operator": cond.get("operator"),
                    "answer": answer,
                }
            )
        if conditions:
            target["enable_when"] = conditions
            target["enable_behavior"] = node.get("enableBehavior", "all")

    # --- scoring --------------------------------------------------------------------------------
    def _scoring(self, q: JSON) -> list[JSON]:
        rules: list[JSON] = []
        for index, ext in enumerate(_list(q.get("extension"))):
            if not isinstance(ext, dict) or ext.get("url") != EXT_SCORING_RULE:
                continue
            self.paths[f"scoring[{len(rules)}]"] = f"extension[{index}]"
            rule: JSON = {"items": [], "bands": []}
            for part in _list(ext.get("extension")):
                if not isinstance(part, dict):
                    continue
                name = part.get("url")
                if name in ("dimension", "method", "outcome"):
                    rule[str(name)] = part.get("valueCode")
                elif name == "item":
                    rule["items"].append(part.get("valueString"))
                elif name == "band":
                    band = {
                        p.get("url"): p for p in _list(part.get("extension")) if isinstance(p, dict)
                    }
                    rule["bands"].append(
                        {
                            "min": band.get("min", {}).get("valueDecimal"),
                            "value": band.get("value", {}).get("valueInteger"),
                        }
                    )
            rules.append(rule)
        return rules

    # --- paths ----------------------------------------------------------------------------------
    def translate(self, path: str) -> str:
        """Our path (e.g. groups[1].items[0].options[3].code) -> FHIR path."""
        best = ""
        for prefix in self.paths:
            if (path == prefix or path.startswith((prefix + ".", prefix + "["))) and len(
                prefix
            ) > len(best):
                best = prefix
        head = self.paths[best] if best else ""
        rest = path[len(best) :]
        for match in _TOKEN.finditer(rest):
            name, number = match.groups()
            if number is not None:
                head += f"[{number}]"
            else:
                renamed = _RENAME.get(name, name)
                head = f"{head}.{renamed}" if head else renamed
        return head or ROOT


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


__all__ = ["import_fhir_questionnaire"]
