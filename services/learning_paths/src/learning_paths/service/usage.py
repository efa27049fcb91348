"""Usage figures for org admins and analysts: enrolments, completions, median days to
complete and drop-off per step, per module, per professional or per organisation, joined
with the survey results per module (technology acceptance, client satisfaction), all with
small-cell suppression at the tenant's k (domain/usage.py). Aggregates only: no person,
no answer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from wijkkracht_common.auth import Principal
from wijkkracht_common.texts import Text

from learning_paths.domain import access
from learning_paths.domain.usage import (
    PublishedRow,
    SurveyCell,
    UsageFact,
    group,
    publish,
    survey_cells,
)
from learning_paths.service import problems
from learning_paths.service.context import Context

GroupBy = Literal["module", "professional", "organisation"]


@dataclass(frozen=True)
class Figures:
    by: GroupBy
    organisation: str | None
    k: int
    rows: list[PublishedRow]
    totals: dict[str, int | None]
    titles: dict[str, str]


async def figures(
    ctx: Context, principal: Principal, *, by: GroupBy, organisation: str | None
) -> Figures:
    if not access.may_see_figures(principal, organisation):
        raise problems.forbidden(
            Text(
                "Gebruikscijfers zijn voor beheerders van de organisatie en analisten.",
                "Usage figures are for the organisation's admins and analysts.",
            ),
            roles=list(access.FIGURES_ROLES),
        )
    repo = await ctx.reader(principal.tenant)
    k = await repo.privacy_k()
    if organisation is not None:
        owned = await repo.contents_of_organisation(organisation)
        assigned = await repo.enrolments_assigned_by(organisation)
        content_ids = sorted({c.id for c in owned} | {e.content_id for e in assigned})
    else:
        content_ids = sorted(c.id for c in await repo.all_contents())
    live = await repo.enrolments_of_content(content_ids)
    facts = [UsageFact.of(e) for e in live] + await repo.usage_facts(content_ids)
    if organisation is not None and by == "professional":
        facts = [f for f in facts if f.organisation == organisation]
    titles: dict[str, str] = {}
    steps_of: dict[str, tuple[str, ...]] = {}
    for content_id in content_ids:
        content = await repo.content(content_id)
        if content is None:
            continue
        titles[content_id] = content.title
        if content.published_version is not None:
            version = await repo.version(content_id, content.published_version)
            if version is not None:
                steps_of[content_id] = tuple(version.step_ids())
    surveys: dict[str, list[SurveyCell]] = {}
    if by == "module":
        sums: dict[str, dict[tuple[str, str], tuple[float, int]]] = defaultdict(dict)
        for cell in await repo.survey_sums(content_ids):
            if organisation is not None and cell.organisation != organisation:
                continue
            total, count = sums[cell.content_id].get((cell.family, cell.dimension), (0.0, 0))
            sums[cell.content_id][(cell.family, cell.dimension)] = (
                total + cell.total,
                count + cell.count,
            )
        surveys = {content_id: survey_cells(cells, k) for content_id, cells in sums.items()}
        for content_id in surveys:
            titles.setdefault(content_id, content_id)
    rows, totals = publish(
        group(facts, by), k, steps_of=steps_of if by == "module" else None, surveys=surveys
    )
    return Figures(by, organisation, k, rows, totals, titles)
