"""Result views of a submitted response: spider web (own trend), talk-about list, printable
page, FHIR R4 QuestionnaireResponse. Pure rendering lives in `presentation/`; who may see
them is decided in `access.py` (`responses.load_readable`)."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, InvalidInput, NotFound, field_error

from questionnaires.domain.dimensions import dimension_label
from questionnaires.domain.fhir_response import response_to_fhir
from questionnaires.domain.i18n import Language
from questionnaires.domain.response import Response
from questionnaires.domain.response_record import ResponseRecord
from questionnaires.presentation import labels as L
from questionnaires.presentation.printable import render_printable_summary
from questionnaires.presentation.spider_chart import Axis, render_spider_chart, series_for
from questionnaires.service import access, instruments, responses
from questionnaires.service.access import Viewer
from questionnaires.service.context import Context
from questionnaires.service.sharing import log_view


def submitted(record: ResponseRecord) -> Response:
    response = record.response
    if not response.is_submitted or response.result is None:
        raise Conflict(
            "Deze vragenlijst is nog niet ingestuurd. / This response has not been submitted yet.",
            kind="response-not-submitted",
        )
    return response


def check_comparable(record: ResponseRecord, earlier: ResponseRecord) -> None:
    """Trend overlay: only the same person's earlier response of the same family."""
    if (
        earlier.id == record.id
        or earlier.family != record.family
        or earlier.person_id != record.person_id
    ):
        raise InvalidInput(
            "Deze twee vragenlijsten kunnen niet worden vergeleken. / These two responses "
            "cannot be compared.",
            errors=[field_error("query.compare_with", "not comparable")],
        )


async def earlier_to_compare(
    ctx: Context, principal: Principal, record: ResponseRecord, compare_with: str | None
) -> ResponseRecord | None:
    """The response `compare_with` names, if the caller may see it and it is comparable."""
    if compare_with is None:
        return None
    earlier, _ = await responses.load_readable(ctx, principal, compare_with)
    check_comparable(record, earlier)
    return earlier


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
    record: ResponseRecord,
    *,
    language: Language | None,
    earlier: ResponseRecord | None = None,
) -> str:
    response = submitted(record)
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
    ctx: Context, tenant: str, record: ResponseRecord, language: Language | None
) -> dict[str, Any]:
    """The "Hier wil ik over praten / I want to talk about this" items and their topics."""
    response = submitted(record)
    lang: Language = language or response.language
    definition = await instruments.definition(ctx, tenant, response.instrument_id, response.version)
    params = dict(record.params)
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
    record: ResponseRecord,
    *,
    language: Language | None,
    earlier: ResponseRecord | None,
) -> str:
    response = submitted(record)
    definition = await instruments.definition(ctx, tenant, response.instrument_id, response.version)
    return render_printable_summary(
        definition,
        response,
        language=language,
        params=dict(record.params),
        earlier=submitted(earlier) if earlier is not None else None,
    )


async def fhir_export(
    ctx: Context, principal: Principal, record: ResponseRecord, viewer: Viewer
) -> dict[str, Any]:
    """The FHIR export by the resident, or by staff with `share_with_gp` (else 403), logged
    as an export to the GP."""
    consents = (await ctx.reader(principal.tenant)).consents
    exporter = await access.fhir_viewer(consents, principal, record, viewer)
    body = await fhir(ctx, principal.tenant, record)
    await log_view(
        ctx,
        principal,
        record,
        exporter,
        what="fhir",
        action="export",
        share_format="fhir_r4",
        shared_with="gp",
    )
    return body


async def fhir(ctx: Context, tenant: str, record: ResponseRecord) -> dict[str, Any]:
    response = submitted(record)
    definition = await instruments.definition(ctx, tenant, response.instrument_id, response.version)
    return response_to_fhir(definition, response)
