"""Use cases for analysts and organisation admins: published reports only.

Everything reads the projections (never measurements) and leaves through the domain's
`PublishedTable` / `Benchmark` / `TransitionMatrix`, which carry suppressed cells as reasons.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from pymongo import UpdateOne
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Forbidden, InvalidInput, field_error
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.storage import Database, Session, aborted_transactions

from effect_measurement.adapters.documents import cell_from_document, persona_from_document
from effect_measurement.adapters.schema import CELLS, PERSONA, PROJECTION_VERSION, SETTINGS
from effect_measurement.domain.aggregates import Accumulator, CellKey
from effect_measurement.domain.benchmark import Benchmark, Metric, anonymous_label, build_benchmark
from effect_measurement.domain.periods import Period, PeriodKind, nested_periods
from effect_measurement.domain.persona import PersonaReport, build_persona_report
from effect_measurement.domain.policy import DEFAULT_K, PrivacyPolicy
from effect_measurement.domain.queries import AggregateQuery, QueryErrors, validate_aggregate_query
from effect_measurement.domain.reports import ReportKey, build_report, slice_for_organisation
from effect_measurement.domain.tables import PublishedTable
from effect_measurement.domain.transitions import TransitionMatrix, build_transitions
from effect_measurement.service.instruments import families
from effect_measurement.service.projections import PRIVACY

Db = Database[dict[str, Any]]
REPORT_ROLES = ("analyst", "org_admin", "tenant_admin")
NO_ACCESS = "Geen toegang tot deze organisatie. / No access to this organisation."


async def privacy(db: Db) -> tuple[PrivacyPolicy, set[str]]:
    policy, named, _ = await settings(db)
    return policy, named


async def settings(db: Db) -> tuple[PrivacyPolicy, set[str], str]:
    """Privacy policy, named organisations and the cell projection's version (one read)."""
    docs = {
        d["_id"]: d
        async for d in db[SETTINGS].find({"_id": {"$in": [PRIVACY, PROJECTION_VERSION]}})
    }
    doc = docs.get(PRIVACY, {})
    version = str(docs.get(PROJECTION_VERSION, {}).get("version", ""))
    return PrivacyPolicy(int(doc.get("k", DEFAULT_K))), set(doc.get("named", [])), version


def projection_touch() -> UpdateOne:
    """The `SETTINGS` write of `touch_projection`, for a bulk write with other settings."""
    return UpdateOne(
        {"_id": PROJECTION_VERSION}, {"$set": {"version": new_event_id()}}, upsert=True
    )


async def touch_projection(db: Db, session: Session) -> None:
    """Inside every transaction that changes cells: readers' caches see a new version (a
    fresh unique token, not a counter: a dropped and recreated database never repeats one)."""
    await db[SETTINGS].bulk_write([projection_touch()], session=session)


class CellCache:
    """The cells a report reads (its period and the nested ones), per tenant database ×
    family × period, kept while the projection's version is unchanged; bounded (LRU).

    The version is bumped in the same transaction as every cell change, so a cached entry is
    never older than the committed projection it claims to be. On nx-27017 a read may also see
    a running transaction's cells; should that transaction roll back, the version stays and
    the entry would be wrong: an entry also holds the database's count of rolled-back
    transactions when its read began, and is void once that count moved."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[
            tuple[str, str, str], tuple[str, int, dict[CellKey, Accumulator]]
        ]
        self._entries = OrderedDict()

    def get(self, key: tuple[str, str, str], version: str) -> dict[CellKey, Accumulator] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version or entry[1] != aborted_transactions(key[0]):
            return None
        self._entries.move_to_end(key)
        return entry[2]

    def put(
        self,
        key: tuple[str, str, str],
        version: str,
        aborts: int,
        cells: dict[CellKey, Accumulator],
    ) -> None:
        """`aborts`: `aborted_transactions(database)` before the cells were read."""
        self._entries[key] = (version, aborts, cells)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


CELL_CACHE = CellCache()


async def parse_query(db: Db, params: Mapping[str, str], policy: PrivacyPolicy) -> AggregateQuery:
    try:
        return validate_aggregate_query(params, families=await families(db), policy=policy)
    except QueryErrors as error:
        raise InvalidInput(
            "De zoekvraag is ongeldig; zie 'errors'. / The query is invalid; see 'errors'.",
            errors=[
                field_error(f"query.{e.field}", f"{e.message.nl} / {e.message.en}", e.code)
                for e in error.errors
            ],
        ) from error


def scope(principal: Principal, organisation: str | None) -> str | None:
    """The organisation a caller's view is limited to (None: the tenant-wide report).

    Analysts and tenant admins see the whole report; an org admin only their own slice."""
    if principal.has_role("analyst", "tenant_admin"):
        return organisation
    mine = principal.organisations_with("org_admin")
    if organisation is None and len(mine) == 1:
        return mine[0]
    if organisation not in mine:
        raise Forbidden(NO_ACCESS)
    return organisation


async def load_cells(
    db: Db, tenant: str, family: str, period: Period, version: str | None = None
) -> dict[CellKey, Accumulator]:
    """The report's cells and those of every report it is linked to (nested periods);
    from `CELL_CACHE` when the projection is still at `version`. Treat as read-only."""
    key = (db.name, family, period.label)
    if version is not None and (cached := CELL_CACHE.get(key, version)) is not None:
        return cached
    aborts = aborted_transactions(db.name)
    labels = [p.label for p in (period, *nested_periods(period))]
    cells: dict[CellKey, Accumulator] = {}
    async for doc in db[CELLS].find({"family": family, "period": {"$in": labels}}):
        parsed = cell_from_document(tenant, doc)
        if parsed is not None:
            cells[parsed[0]] = parsed[1]
    if version is not None:
        CELL_CACHE.put(key, version, aborts, cells)
    return cells


def labels_for(
    cells: Mapping[CellKey, Accumulator], named: set[str], own: str | None
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


async def reports(db: Db, principal: Principal, params: Mapping[str, str]) -> list[PublishedTable]:
    policy, named, version = await settings(db)
    query = await parse_query(db, params, policy)
    own = scope(principal, query.organisation)
    result = []
    for period in query.periods:
        cells = await load_cells(db, principal.tenant, query.family, period, version)
        labels = labels_for(cells, named, own)
        table = build_report(
            cells,
            ReportKey(principal.tenant, query.family, query.dimension, period),
            query.k,
            labels,
        )
        result.append(slice_for_organisation(table, labels.get(own, own)) if own else table)
    return result


async def benchmark(db: Db, principal: Principal, params: Mapping[str, str]) -> Benchmark:
    policy, named, version = await settings(db)
    query = await parse_query(db, params, policy)
    own = scope(principal, query.organisation)
    if own is None or len(query.periods) != 1:
        raise InvalidInput(
            "Kies één organisatie en één periode. / Choose one organisation and one period.",
            errors=[field_error("query.organisation", "required")],
        )
    cells = await load_cells(db, principal.tenant, query.family, query.periods[0], version)
    key = ReportKey(principal.tenant, query.family, query.dimension, query.periods[0])
    return build_benchmark(
        cells,
        key,
        own,
        query.metric or Metric.MEAN_CHANGE,
        query.k,
        salt=f"{principal.tenant}|{key.family}|{key.period.label}",
        named_organisations=named,
    )


async def transitions(db: Db, principal: Principal, params: Mapping[str, str]) -> TransitionMatrix:
    policy, _, version = await settings(db)
    query = await parse_query(db, params, policy)
    if len(query.periods) != 1:
        raise InvalidInput(
            "Kies één periode. / Choose one period.",
            errors=[field_error("query.period", "one period")],
        )
    cells = await load_cells(db, principal.tenant, query.family, query.periods[0], version)
    key = ReportKey(principal.tenant, query.family, query.dimension, query.periods[0])
    report = build_report(cells, key, query.k)
    return build_transitions(cells, key, report, query.k)


async def persona(db: Db, principal: Principal, params: Mapping[str, str]) -> PersonaReport:
    policy, _ = await privacy(db)
    query = await parse_query(db, params, policy)
    if len(query.periods) != 1 or query.periods[0].kind is not PeriodKind.YEAR:
        raise InvalidInput(
            "Persona's gaan per jaar. / Personas are per year.",
            errors=[field_error("query.period", "a year, e.g. 2026")],
        )
    year, attribute = query.periods[0], query.attribute or "age_band"
    cells: dict[Any, Accumulator] = {}
    async for doc in db[PERSONA].find(
        {
            "family": query.family,
            "year": year.label,
            "dimension": query.dimension,
            "attribute": attribute,
        }
    ):
        parsed = persona_from_document(principal.tenant, doc)
        if parsed is not None:
            cells[parsed[0]] = parsed[1]
    return build_persona_report(
        cells, principal.tenant, query.family, query.dimension, year, attribute, query.k
    )
