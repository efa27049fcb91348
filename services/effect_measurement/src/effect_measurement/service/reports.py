"""Use cases for analysts and organisation admins: published reports only.

Everything reads the projections (never measurements) and leaves through the domain's
`PublishedTable` / `Benchmark` / `TransitionMatrix` / `PersonaReport`, which carry suppressed
cells as reasons. Who sees which slice: `access.report_scope`.
"""

from __future__ import annotations

from collections.abc import Mapping

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, field_error

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.benchmark import Benchmark, Metric, anonymous_label, build_benchmark
from effect_measurement.domain.keys import CellKey
from effect_measurement.domain.periods import PeriodKind
from effect_measurement.domain.persona_report import PersonaReport, build_persona_report
from effect_measurement.domain.policy import PrivacySettings
from effect_measurement.domain.queries import AggregateQuery, QueryErrors, validate_aggregate_query
from effect_measurement.domain.reports import ReportKey, build_report, slice_for_organisation
from effect_measurement.domain.tables import PublishedTable
from effect_measurement.domain.transitions import TransitionMatrix, build_transitions
from effect_measurement.service import access
from effect_measurement.service.instruments import families
from effect_measurement.service.ports import Repositories, RepositoryFactory, Runtime, reading


async def _query(
    repos: Repositories, params: Mapping[str, str]
) -> tuple[AggregateQuery, PrivacySettings, str]:
    """The validated query, the privacy settings and the projection version (for the cache)."""
    settings, version = await repos.settings.privacy()
    try:
        query = validate_aggregate_query(
            params, families=await families(repos), policy=settings.policy
        )
    except QueryErrors as error:
        raise InvalidInput(
            "De zoekvraag is ongeldig; zie 'errors'. / The query is invalid; see 'errors'.",
            errors=[
                field_error(f"query.{e.field}", f"{e.message.nl} / {e.message.en}", e.code)
                for e in error.errors
            ],
        ) from error
    return query, settings, version


def labels_for(
    cells: Mapping[CellKey, Accumulator], named: frozenset[str], own: str | None
) -> dict[str, str]:
    """Organisations are anonymous in reports unless opted in (or the caller's own)."""
    orgs = sorted({c.organisation for c in cells})
    labels: dict[str, str] = {}
    anonymous = 0
    for org in orgs:
        if org in named or org == own:
            labels[org] = org
        else:
            labels[org] = anonymous_label(anonymous)
            anonymous += 1
    return labels


async def reports(
    runtime: Runtime,
    principal: Principal,
    params: Mapping[str, str],
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> list[PublishedTable]:
    repos = await reading(runtime, principal.tenant, repositories)
    query, settings, version = await _query(repos, params)
    own = access.report_scope(principal, query.organisation)
    result = []
    for period in query.periods:
        cells = await repos.cells.read(query.family, period, version)
        labels = labels_for(cells, settings.named, own)
        table = build_report(
            cells,
            ReportKey(principal.tenant, query.family, query.dimension, period),
            query.k,
            labels,
            rounding_base=settings.policy.rounding_base,
        )
        result.append(slice_for_organisation(table, labels.get(own, own)) if own else table)
    return result


async def benchmark(
    runtime: Runtime,
    principal: Principal,
    params: Mapping[str, str],
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> Benchmark:
    repos = await reading(runtime, principal.tenant, repositories)
    query, settings, version = await _query(repos, params)
    own = access.report_scope(principal, query.organisation)
    if own is None or len(query.periods) != 1:
        raise InvalidInput(
            "Kies één organisatie en één periode. / Choose one organisation and one period.",
            errors=[field_error("query.organisation", "required")],
        )
    cells = await repos.cells.read(query.family, query.periods[0], version)
    key = ReportKey(principal.tenant, query.family, query.dimension, query.periods[0])
    return build_benchmark(
        cells,
        key,
        own,
        query.metric or Metric.MEAN_CHANGE,
        query.k,
        salt=f"{principal.tenant}|{key.family}|{key.period.label}",
        named_organisations=settings.named,
    )


async def transitions(
    runtime: Runtime,
    principal: Principal,
    params: Mapping[str, str],
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> TransitionMatrix:
    repos = await reading(runtime, principal.tenant, repositories)
    query, settings, version = await _query(repos, params)
    if len(query.periods) != 1:
        raise InvalidInput(
            "Kies één periode. / Choose one period.",
            errors=[field_error("query.period", "one period")],
        )
    cells = await repos.cells.read(query.family, query.periods[0], version)
    key = ReportKey(principal.tenant, query.family, query.dimension, query.periods[0])
    report = build_report(cells, key, query.k)
    base = settings.policy.rounding_base
    return build_transitions(cells, key, report, query.k, rounding_base=base)


async def persona(
    runtime: Runtime,
    principal: Principal,
    params: Mapping[str, str],
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> PersonaReport:
    repos = await reading(runtime, principal.tenant, repositories)
    query, settings, _ = await _query(repos, params)
    if len(query.periods) != 1 or query.periods[0].kind is not PeriodKind.YEAR:
        raise InvalidInput(
            "Persona's gaan per jaar. / Personas are per year.",
            errors=[field_error("query.period", "a year, e.g. 2026")],
        )
    year, attribute = query.periods[0], query.attribute or "age_band"
    cells = await repos.persona.read(query.family, year, query.dimension, attribute)
    return build_persona_report(
        cells,
        principal.tenant,
        query.family,
        query.dimension,
        year,
        attribute,
        query.k,
        rounding_base=settings.policy.rounding_base,
    )
