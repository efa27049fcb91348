"""Result views of a submitted response: spider web (own trend), talk-about list, printable
page, FHIR R4 QuestionnaireResponse. Pure rendering lives in `presentation/`."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.errors import Conflict, InvalidInput, NotFound, field_error

from questionnaires.adapters.documents import response_of
from questionnaires.domain.dimensions import dimension_label
from questionnaires.domain.fhir_response import response_to_fhir
from questionnaires.domain.i18n import Language
from questionnaires.domain.response import Response
from questionnaires.presentation import labels as L
from questionnaires.presentation.printable import render_printable_summary
from questionnaires.presentation.spider_chart import Axis, render_spider_chart, series_for
from questionnaires.service import instruments
from questionnaires.service.context import Context


def submitted(doc: dict[str, Any]) -> Response:
    response = response_of(doc)
    if not response.is_submitted or response.result is None:
        raise Conflict(
            "Deze vragenlijst is nog niet ingestuurd. / This response has not been submitted yet.",
            kind="response-not-submitted",
        )
    return response


def check_comparable(doc: dict[str, Any], earlier: dict[str, Any]) -> None:
    """Trend overlay: only the same person's earlier response of the same family."""
    if (
        earlier["_id"] == doc["_id"]
        or earlier.get("family") != doc.get("family")
        or (earlier.get("person_id") != doc.get("person_id"))
    ):
        raise InvalidInput(
            "Deze twee vragenlijsten kunnen niet worden vergeleken. / These two responses "
            "cannot be compared.",
            errors=[field_error("query.compare_with", "not comparable")],
        )


def _axes(response: Response, language: Language) -> list[Axis]:
    """Score dimensions; instruments that only band (phases, levels) show their 0-10 scores."""
    assert response.result is not None
    scored = [d for d in response.result.dimension_scores if d.outcome == "score"]
    if len(scored) < 3:
        scored = list(response.result.dimension_scores)
    return [Axis(d.dimension, dimension_label(d.dimension).get(language)) for d in scored]


async def chart_svg(
    ctx: Context,
    tenant: str,
    doc: dict[str, Any],
    *,
    language: Language | None,
    earlier: dict[str, Any] | None = None,
) -> str:
    response = submitted(doc)
    lang: Language = language or response.language
    axes = _axes(response, lang)
    if len(axes) < 3:
        raise NotFound(
            "Voor deze vragenlijst is er geen spinnenweb. / This questionnaire has "
            "no spider-web chart.",
            kind="no-chart",
        )
    definition = await instruments.definition(ctx, tenant, response.instrument_id, response.version)
    series = []
    assert response.result is not None and response.submitted_at is not None
    series.append(series_for(response.result, L.long_date(response.submitted_at.date(), lang)))
    if earlier is not None:
        before = submitted(earlier)
        assert before.result is not None and before.submitted_at is not None
        point = series_for(before.result, L.long_date(before.submitted_at.date(), lang))
        # The earlier moment is drawn first, whichever of the two was asked to compare.
        series.insert(0 if before.submitted_at <= response.submitted_at else 1, point)
    title = definition.title.get(lang)
    return render_spider_chart(
        axes, series, title=title, language=lang, id_prefix=f"spider-{response.id}"
    )


async def talk_items(
    ctx: Context, tenant: str, doc: dict[str, Any], language: Language | None
) -> dict[str, Any]:
    """The "Hier wil ik over praten / I want to talk about this" items and their topics."""
    response = submitted(doc)
    lang: Language = language or response.language
    definition = await instruments.definition(ctx, tenant, response.instrument_id, response.version)
    params = doc.get("params") or {}
    shown = definition.instantiate(params) if definition.parameters else definition
    items = []
    for item in shown.items():
        answer = response.answers.get(item.link_id)
        if answer is not None and answer.discussable:
            items.append(
                {
                    "link_id": item.link_id,
                    "text": item.text.get(lang),
                    "dimension": item.dimension,
                    "dimension_label": dimension_label(item.dimension).get(lang)
                    if item.dimension
                    else None,
                }
            )
    assert response.result is not None
    return {
        "response_id": response.id,
        "language": lang,
        "items": items,
        "dimensions": [
            {"code": d, "label": dimension_label(d).get(lang)}
            for d in response.result.discussable_dimensions
        ],
    }


async def printable(
    ctx: Context,
    tenant: str,
    doc: dict[str, Any],
    *,
    language: Language | None,
    earlier: dict[str, Any] | None,
) -> str:
    response = submitted(doc)
    definition = await instruments.definition(ctx, tenant, response.instrument_id, response.version)
    return render_printable_summary(
        definition,
        response,
        language=language,
        params=doc.get("params") or {},
        earlier=submitted(earlier) if earlier is not None else None,
    )


async def fhir(ctx: Context, tenant: str, doc: dict[str, Any]) -> dict[str, Any]:
    response = submitted(doc)
    definition = await instruments.definition(ctx, tenant, response.instrument_id, response.version)
    return response_to_fhir(definition, response)
