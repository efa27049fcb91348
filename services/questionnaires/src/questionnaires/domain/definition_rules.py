"""Cross-field rules of an instrument definition, reported with the path of each problem.

Paths use the JSON layout of our own format, e.g. ``groups[2].items[0].options[3].code``;
the FHIR importer translates them into FHIR paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from questionnaires.domain.definition_shape import (
    AnswerScalar,
    DefinitionShape,
    EnableWhen,
    Item,
    ScoringRule,
)
from questionnaires.domain.dimensions import is_known_dimension
from questionnaires.domain.errors import DefinitionIssue
from questionnaires.domain.i18n import LocalizedText, t

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_PARAMETER_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,30}$")
_CHOICE = ("single_choice", "multiple_choice")


class _Collector:
    def __init__(self) -> None:
        self.issues: list[DefinitionIssue] = []

    def add(self, path: str, code: str, message: LocalizedText) -> None:
        self.issues.append(DefinitionIssue(path=path, code=code, message=message))


def validate_definition(definition: DefinitionShape) -> list[DefinitionIssue]:
    """All rule violations of `definition`; an empty list means it may be published."""
    out = _Collector()
    _check_languages(definition, out)
    _check_texts(definition, out)
    _check_link_ids(definition, out)
    for gi, group in enumerate(definition.groups):
        if not group.items:
            out.add(
                f"groups[{gi}].items",
                "empty_group",
                t("Groep zonder vragen", "Group without items"),
            )
        for ii, item in enumerate(group.items):
            _check_item(item, f"groups[{gi}].items[{ii}]", out)
    _check_enable_when(definition, out)
    _check_scoring(definition, out)
    return out.issues


def is_scorable(item: Item) -> bool:
    """Whether an item's answers can be placed on the 0-10 scale."""
    if item.answer_type in ("scale_0_10", "yes_no"):
        return True
    if item.answer_type == "number":
        return (
            item.min_value is not None
            and item.max_value is not None
            and item.max_value > item.min_value
        )
    if item.answer_type == "single_choice":
        scores = [o.score for o in item.options]
        return bool(scores) and all(s is not None for s in scores) and len(set(scores)) > 1
    return False


def _check_languages(definition: DefinitionShape, out: _Collector) -> None:
    if not definition.languages:
        out.add("languages", "no_language", t("Geen taal opgegeven", "No language given"))
    elif len(set(definition.languages)) != len(definition.languages):
        out.add(
            "languages", "duplicate_language", t("Taal dubbel opgegeven", "Language listed twice")
        )


def _texts(definition: DefinitionShape) -> Iterable[tuple[str, LocalizedText]]:
    yield "title", definition.title
    if definition.description:
        yield "description", definition.description
    for gi, group in enumerate(definition.groups):
        yield f"groups[{gi}].title", group.title
        for ii, item in enumerate(group.items):
            base = f"groups[{gi}].items[{ii}]"
            yield f"{base}.text", item.text
            for oi, option in enumerate(item.options):
                yield f"{base}.options[{oi}].label", option.label


def _check_texts(definition: DefinitionShape, out: _Collector) -> None:
    bad_names = [p for p in definition.parameters if not _PARAMETER_NAME.match(p)]
    for name in bad_names:
        out.add(
            "parameters",
            "invalid_parameter",
            t(f"Ongeldige parameter '{name}'", f"Invalid parameter '{name}'"),
        )
    for path, text in _texts(definition):
        for language in definition.languages:
            if not text.has(language):
                out.add(
                    f"{path}.{language}",
                    "missing_translation",
                    t(
                        f"Tekst ontbreekt in taal '{language}'",
                        f"Text missing in language '{language}'",
                    ),
                )
        for value in text.texts():
            for name in _PLACEHOLDER.findall(value):
                if name not in definition.parameters:
                    out.add(
                        path,
                        "unknown_parameter",
                        t(
                            f"Onbekende parameter '{{{name}}}'",
                            f"Undeclared parameter '{{{name}}}'",
                        ),
                    )


def _check_link_ids(definition: DefinitionShape, out: _Collector) -> None:
    seen: set[str] = set()
    for gi, group in enumerate(definition.groups):
        pairs = [(f"groups[{gi}].link_id", group.link_id)] + [
            (f"groups[{gi}].items[{ii}].link_id", i.link_id) for ii, i in enumerate(group.items)
        ]
        for path, link_id in pairs:
            if link_id in seen:
                out.add(
                    path,
                    "duplicate_link_id",
                    t(f"link_id '{link_id}' komt vaker voor", f"link_id '{link_id}' is not unique"),
                )
            seen.add(link_id)


def _check_item(item: Item, path: str, out: _Collector) -> None:
    kind = item.answer_type
    if kind in _CHOICE:
        if len(item.options) < 2:
            out.add(
                f"{path}.options",
                "options_required",
                t(
                    "Keuzevraag heeft minstens twee opties nodig",
                    "A choice item needs at least two options",
                ),
            )
        seen: set[str] = set()
        for oi, option in enumerate(item.options):
            if option.code in seen:
                out.add(
                    f"{path}.options[{oi}].code",
                    "duplicate_option_code",
                    t(
                        f"Optiecode '{option.code}' komt vaker voor",
                        f"Option code '{option.code}' is not unique",
                    ),
                )
            seen.add(option.code)
    elif item.options:
        out.add(
            f"{path}.options",
            "options_not_allowed",
            t("Alleen keuzevragen hebben opties", "Only choice items have options"),
        )
    if kind == "number":
        if (
            item.min_value is not None
            and item.max_value is not None
            and item.min_value > item.max_value
        ):
            out.add(
                f"{path}.min_value",
                "invalid_range",
                t("Minimum ligt boven maximum", "Minimum is above maximum"),
            )
    elif item.min_value is not None or item.max_value is not None:
        out.add(
            path,
            "range_not_allowed",
            t(
                "Alleen getalvragen hebben een minimum/maximum",
                "Only number items have a minimum/maximum",
            ),
        )
    if item.integer_only and kind != "number":
        out.add(
            f"{path}.integer_only",
            "not_allowed",
            t("Alleen voor getalvragen", "Only for number items"),
        )
    if item.max_length is not None and (kind != "short_text" or item.max_length < 1):
        out.add(
            f"{path}.max_length",
            "invalid_max_length",
            t(
                "Maximale lengte alleen voor korte tekst, minstens 1",
                "Max length only for short text, at least 1",
            ),
        )
    if item.reverse_scored and not is_scorable(item):
        out.add(
            f"{path}.reverse_scored",
            "not_scorable",
            t(
                "Omgekeerd scoren kan alleen bij scoorbare vragen",
                "Reverse scoring needs a scorable item",
            ),
        )
    if item.dimension is not None and not is_known_dimension(item.dimension):
        out.add(
            f"{path}.dimension",
            "unknown_dimension",
            t(f"Onbekende dimensie '{item.dimension}'", f"Unknown dimension '{item.dimension}'"),
        )


def _check_enable_when(definition: DefinitionShape, out: _Collector) -> None:
    order: dict[str, int] = {}
    for position, item in enumerate(definition.items()):
        order.setdefault(item.link_id, position)
    position = 0
    for gi, group in enumerate(definition.groups):
        for ci, cond in enumerate(group.enable_when):
            _check_condition(
                definition, cond, position, order, f"groups[{gi}].enable_when[{ci}]", out
            )
        for ii, item in enumerate(group.items):
            for ci, cond in enumerate(item.enable_when):
                path = f"groups[{gi}].items[{ii}].enable_when[{ci}]"
                _check_condition(definition, cond, position, order, path, out)
            position += 1


def _check_condition(
    definition: DefinitionShape,
    cond: EnableWhen,
    position: int,
    order: dict[str, int],
    path: str,
    out: _Collector,
) -> None:
    target = definition.item(cond.question)
    if target is None:
        out.add(
            f"{path}.question",
            "unknown_question",
            t(
                f"Vraag '{cond.question}' bestaat niet",
                f"Question '{cond.question}' does not exist",
            ),
        )
        return
    # Only earlier questions: keeps evaluation a single pass and rules out cycles.
    if order[cond.question] >= position:
        out.add(
            f"{path}.question",
            "forward_reference",
            t(
                "Voorwaarde moet naar een eerdere vraag verwijzen",
                "Condition must refer to an earlier question",
            ),
        )
        return
    if not _condition_fits(target, cond.operator, cond.answer):
        out.add(
            f"{path}.answer",
            "invalid_condition",
            t(
                "Operator of antwoord past niet bij het type van de vraag",
                "Operator or answer does not fit the question's type",
            ),
        )


def _condition_fits(target: Item, operator: str, answer: AnswerScalar) -> bool:
    if operator == "exists":
        return isinstance(answer, bool)
    kind = target.answer_type
    equality_only = operator in ("=", "!=")
    if kind in _CHOICE:
        return equality_only and isinstance(answer, str) and target.option(answer) is not None
    if kind == "yes_no":
        return equality_only and isinstance(answer, bool)
    if kind == "short_text":
        return equality_only and isinstance(answer, str)
    if not isinstance(answer, int | float) or isinstance(answer, bool):
        return False
    return kind != "scale_0_10" or (isinstance(answer, int) and 0 <= answer <= 10)


def _check_scoring(definition: DefinitionShape, out: _Collector) -> None:
    seen_dimensions: set[str] = set()
    for ri, rule in enumerate(definition.scoring):
        path = f"scoring[{ri}]"
        if rule.dimension in seen_dimensions:
            out.add(
                f"{path}.dimension",
                "duplicate_rule",
                t("Dimensie heeft al een scoreregel", "Dimension already has a scoring rule"),
            )
        seen_dimensions.add(rule.dimension)
        if not is_known_dimension(rule.dimension):
            out.add(
                f"{path}.dimension",
                "unknown_dimension",
                t(
                    f"Onbekende dimensie '{rule.dimension}'",
                    f"Unknown dimension '{rule.dimension}'",
                ),
            )
        if not rule.items:
            out.add(
                f"{path}.items",
                "empty_rule",
                t("Scoreregel zonder vragen", "Scoring rule without items"),
            )
        if len(set(rule.items)) != len(rule.items):
            out.add(
                f"{path}.items",
                "duplicate_item",
                t("Vraag dubbel in scoreregel", "Item listed twice in scoring rule"),
            )
        for xi, link_id in enumerate(rule.items):
            item = definition.item(link_id)
            if item is None:
                out.add(
                    f"{path}.items[{xi}]",
                    "unknown_question",
                    t(f"Vraag '{link_id}' bestaat niet", f"Question '{link_id}' does not exist"),
                )
            elif not is_scorable(item):
                out.add(
                    f"{path}.items[{xi}]",
                    "not_scorable",
                    t(f"Vraag '{link_id}' is niet te scoren", f"Item '{link_id}' cannot be scored"),
                )
        _check_bands(rule, path, out)


def _check_bands(rule: ScoringRule, path: str, out: _Collector) -> None:
    if rule.outcome == "score":
        if rule.bands:
            out.add(
                f"{path}.bands",
                "bands_not_allowed",
                t("Banden alleen bij fase of niveau", "Bands only for phase or level outcomes"),
            )
        return
    if not rule.bands:
        out.add(
            f"{path}.bands",
            "bands_required",
            t("Fase of niveau heeft banden nodig", "Phase or level needs bands"),
        )
        return
    if rule.bands[0].min != 0:
        out.add(
            f"{path}.bands[0].min",
            "invalid_bands",
            t("Eerste band begint bij 0", "First band must start at 0"),
        )
    for bi in range(1, len(rule.bands)):
        if rule.bands[bi].min <= rule.bands[bi - 1].min:
            out.add(
                f"{path}.bands[{bi}].min",
                "invalid_bands",
                t("Banden moeten oplopen", "Bands must be ascending"),
            )


__all__ = ["is_scorable", "validate_definition"]
