"""HSDS 3.0 import/export: nested JSON (API "service" objects) and the CSV tabular package.

Both formats go through one flat-table form (HSDS table name → rows), so there is one mapping
to our model. Import is all-or-nothing: any issue → no data, and a report of every issue with
file, line (CSV: physical line, header = 1; JSON: 1-based index of the service), field (HSDS
column, prefixed with the nested path in JSON) and message.

Our own taxonomy travels as taxonomy_terms with taxonomy "wijkkracht" linked through
attributes; the entry kind as a term of taxonomy "wijkkracht-kind". Terms of other
taxonomies are ignored on import; a term's parent_id is informative only (our taxonomy
is the tree). Not exported (internal): outdated reports, revision,
tenant_org_slug. `timezone` stays empty: all times are Europe/Amsterdam wall-clock.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from social_map.domain.hsds_rrule import columns_to_rrule, rrule_to_columns
from social_map.domain.model import (
    Accessibility,
    Address,
    Contact,
    Cost,
    Eligibility,
    Entry,
    EntryKind,
    Language,
    Location,
    Organization,
    OwnerKind,
    Phone,
    Schedule,
    ServiceAtLocation,
    SocialMapData,
    field_errors,
)
from social_map.domain.taxonomy import Taxonomy

CATEGORY_TAXONOMY = "wijkkracht"
KIND_TAXONOMY = "wijkkracht-kind"
JSON_FILE = "services.json"

COLUMNS: dict[str, list[str]] = {
    "organizations": [
        "id",
        "name",
        "alternate_name",
        "description",
        "email",
        "website",
        "legal_status",
    ],
    "services": [
        "id",
        "organization_id",
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
        "fees_description",
        "eligibility_description",
        "minimum_age",
        "maximum_age",
        "assured_date",
        "assurer_email",
    ],
    "locations": ["id", "location_type", "name", "description", "latitude", "longitude"],
    "addresses": [
        "id",
        "location_id",
        "address_1",
        "address_2",
        "city",
        "region",
        "state_province",
        "postal_code",
        "country",
        "address_type",
    ],
    "service_at_locations": ["id", "service_id", "location_id", "description"],
    "schedules": [
        "id",
        "service_id",
        "service_at_location_id",
        "valid_from",
        "valid_to",
        "dtstart",
        "timezone",
        "until",
        "count",
        "wkst",
        "freq",
        "interval",
        "byday",
        "byweekno",
        "bymonthday",
        "byyearday",
        "description",
        "opens_at",
        "closes_at",
        "notes",
    ],
    "taxonomy_terms": ["id", "code", "name", "description", "parent_id", "taxonomy", "language"],
    "attributes": ["id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value"],
    "languages": ["id", "service_id", "location_id", "name", "code", "note"],
    "cost_options": ["id", "service_id", "option", "amount", "currency", "amount_description"],
    "contacts": ["id", "service_id", "name", "title", "email"],
    "phones": ["id", "service_id", "contact_id", "number", "description"],
    "accessibility": ["id", "location_id", "description", "details"],
}
_COLUMN_SETS = {name: frozenset(cols) for name, cols in COLUMNS.items()}
REQUIRED_FILES = ("organizations", "services")


@dataclass(frozen=True, slots=True)
class ImportIssue:
    file: str
    line: int
    field: str
    message: str


@dataclass(slots=True)
class ImportResult:
    data: SocialMapData | None
    issues: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None


@dataclass(slots=True)
class _Row:
    file: str
    line: int
    prefix: str  # nested path in JSON ("schedules[0]."), "" in CSV
    values: dict[str, Any]

    def get(self, key: str) -> Any:
        v = self.values.get(key)
        return None if v == "" else v

    def text(self, key: str) -> str:
        v = self.values.get(key)
        if v.__class__ is str:
            return v  # type: ignore[no-any-return]
        return "" if v is None else str(v)


Tables = dict[str, list[_Row]]
M = TypeVar("M", bound=BaseModel)


class _Collector:
    """Issues of one pass. `deferred`: `build` returns the unvalidated keyword dict and the
    caller validates everything in one pydantic call at the end (fast path); if anything is
    wrong, the import runs again with per-row validation for the line-level report."""

    def __init__(self, *, deferred: bool = False) -> None:
        self.issues: list[ImportIssue] = []
        self.deferred = deferred

    def add(self, row: _Row, column: str, message: str) -> None:
        self.issues.append(ImportIssue(row.file, row.line, row.prefix + column, message))

    def build(self, row: _Row, model: type[M], column_of: Mapping[str, str], **kw: Any) -> M | None:
        if self.deferred:
            return kw  # type: ignore[return-value]  # validated in bulk by _from_tables
        try:
            return model(**kw)
        except ValidationError as exc:
            for fe in field_errors(exc):
                head = fe.field.split(".")[0]
                self.add(row, column_of.get(head, fe.field), fe.message)
            return None


# --- import ------------------------------------------------------------------------------------


def import_csv(files: Mapping[str, str], *, tenant: str, taxonomy: Taxonomy) -> ImportResult:
    """`files`: file name (e.g. "services.csv") → CSV text with a header row."""
    tables: Tables = {name: [] for name in COLUMNS}
    issues: list[ImportIssue] = []
    known = {f"{name}.csv" for name in COLUMNS}
    for fname in sorted(files):
        if fname not in known:
            issues.append(ImportIssue(fname, 0, "", "unknown file in HSDS package"))
            continue
        name = fname.removesuffix(".csv")
        reader = csv.DictReader(io.StringIO(files[fname]))
        header = reader.fieldnames or []
        missing = [c for c in ("id",) if c not in header]
        if missing:
            issues.append(ImportIssue(fname, 1, "id", "missing column"))
            continue
        for rec in reader:
            tables[name].append(_Row(fname, reader.line_num, "", dict(rec)))
    for req in REQUIRED_FILES:
        if f"{req}.csv" not in files:
            issues.append(ImportIssue(f"{req}.csv", 0, "", "required file missing"))
    if issues:
        return ImportResult(None, issues)
    return _from_tables(tables, tenant, taxonomy)


def import_json(text: str, *, tenant: str, taxonomy: Taxonomy) -> ImportResult:
    """`text`: a JSON list of HSDS 3.0 service objects with nested organization etc."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return ImportResult(
            None, [ImportIssue(JSON_FILE, exc.lineno, "", f"invalid JSON: {exc.msg}")]
        )
    if isinstance(doc, dict) and isinstance(doc.get("contents"), list):
        doc = doc["contents"]  # a paged HSDS API response
    if not isinstance(doc, list):
        return ImportResult(None, [ImportIssue(JSON_FILE, 0, "", "expected a list of services")])
    tables: Tables = {name: [] for name in COLUMNS}
    issues: list[ImportIssue] = []
    for i, svc in enumerate(doc, start=1):
        if not isinstance(svc, dict):
            issues.append(ImportIssue(JSON_FILE, i, "", "expected an object"))
            continue
        _flatten_service(svc, i, tables, issues)
    if issues:
        return ImportResult(None, issues)
    return _from_tables(tables, tenant, taxonomy)


def _objs(value: Any, row: _Row, key: str, issues: list[ImportIssue]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        issues.append(
            ImportIssue(row.file, row.line, row.prefix + key, "expected a list of objects")
        )
        return []
    return value


def _flatten_service(svc: dict[str, Any], n: int, t: Tables, issues: list[ImportIssue]) -> None:
    def add(table: str, prefix: str, obj: dict[str, Any], **links: Any) -> _Row:
        values = {k: v for k, v in obj.items() if k in _COLUMN_SETS[table]}
        for k, v in links.items():
            values.setdefault(k, v)
        row = _Row(JSON_FILE, n, prefix, values)
        t[table].append(row)
        return row

    srow = add("services", "", svc)
    org = svc.get("organization")
    if isinstance(org, dict):
        add("organizations", "organization.", org)
        srow.values.setdefault("organization_id", org.get("id"))
    sid = svc.get("id")
    for i, sal in enumerate(
        _objs(svc.get("service_at_locations"), srow, "service_at_locations", issues)
    ):
        p = f"service_at_locations[{i}]."
        loc = sal.get("location")
        loc_id = sal.get("location_id") or (loc.get("id") if isinstance(loc, dict) else None)
        sal_row = add("service_at_locations", p, sal, service_id=sid, location_id=loc_id)
        if isinstance(loc, dict):
            lrow = add("locations", p + "location.", loc)
            for j, a in enumerate(_objs(loc.get("addresses"), lrow, "addresses", issues)):
                add("addresses", f"{p}location.addresses[{j}].", a, location_id=loc_id)
            for j, a in enumerate(_objs(loc.get("accessibility"), lrow, "accessibility", issues)):
                add("accessibility", f"{p}location.accessibility[{j}].", a, location_id=loc_id)
        for j, s in enumerate(_objs(sal.get("schedules"), sal_row, "schedules", issues)):
            add(
                "schedules",
                f"{p}schedules[{j}].",
                s,
                service_id=sid,
                service_at_location_id=sal.get("id"),
            )
    for key in ("schedules", "languages", "cost_options", "phones", "attributes"):
        table = key
        for i, obj in enumerate(_objs(svc.get(key), srow, key, issues)):
            row = add(table, f"{key}[{i}].", obj, service_id=sid)
            if key == "attributes":
                row.values.setdefault("link_id", sid)
                term = obj.get("taxonomy_term")
                if isinstance(term, dict):
                    add("taxonomy_terms", f"attributes[{i}].taxonomy_term.", term)
                    row.values.setdefault("taxonomy_term_id", term.get("id"))
    for i, c in enumerate(_objs(svc.get("contacts"), srow, "contacts", issues)):
        crow = add("contacts", f"contacts[{i}].", c, service_id=sid)
        for j, ph in enumerate(_objs(c.get("phones"), crow, "phones", issues)):
            add("phones", f"contacts[{i}].phones[{j}].", ph, contact_id=c.get("id"))


def _unique(rows: list[_Row], col: _Collector) -> dict[str, _Row]:
    """Index rows by id; the same id twice is fine only with identical values (JSON repeats
    shared organisations, locations and terms under every service)."""
    out: dict[str, _Row] = {}
    for r in rows:
        rid = r.text("id")
        if not rid:
            col.add(r, "id", "required")
        elif rid in out and out[rid].values != r.values:
            col.add(r, "id", f"duplicate id {rid!r} with different content")
        else:
            out.setdefault(rid, r)
    return out


def _by(rows: list[_Row], key: str) -> dict[str, list[_Row]]:
    out: dict[str, list[_Row]] = {}
    for r in rows:
        out.setdefault(r.text(key), []).append(r)
    return out


def _from_tables(t: Tables, tenant: str, taxonomy: Taxonomy) -> ImportResult:
    """Fast path first: build plain dicts and validate the whole map in one pydantic call.
    Only if that finds any problem, run again validating row by row: that pass gives the
    line-level report (file, line, column) exactly as before."""
    fast = _build_map(t, tenant, taxonomy, _Collector(deferred=True))
    if fast.data is not None:
        return fast
    return _build_map(t, tenant, taxonomy, _Collector())


def _build_map(t: Tables, tenant: str, taxonomy: Taxonomy, col: _Collector) -> ImportResult:
    orgs_rows = _unique(t["organizations"], col)
    loc_rows = _unique(t["locations"], col)
    term_rows = _unique(t["taxonomy_terms"], col)
    for shared_child in ("addresses", "accessibility"):  # repeated under each service in JSON
        t[shared_child] = list(_unique(t[shared_child], col).values())
    svc_ids: set[str] = set()
    for r in t["services"]:
        if r.text("id") in svc_ids:
            col.add(r, "id", f"duplicate id {r.text('id')!r}")
        svc_ids.add(r.text("id"))

    organizations: dict[str, Organization] = {}
    for oid, r in orgs_rows.items():
        kind = r.text("legal_status")
        o = col.build(
            r,
            Organization,
            {},
            id=oid,
            name=r.text("name"),
            description=r.text("description"),
            email=r.get("email"),
            website=r.get("website"),
            kind=OwnerKind.RESIDENTS_INITIATIVE
            if kind == OwnerKind.RESIDENTS_INITIATIVE.value
            else OwnerKind.ORGANISATION,
        )
        if o:
            organizations[oid] = o

    addr_by_loc = _by(t["addresses"], "location_id")
    access_by_loc = _by(t["accessibility"], "location_id")
    locations: dict[str, Location] = {}
    for lid, r in loc_rows.items():
        address = None
        addr_rows = addr_by_loc.get(lid, [])
        physical = [a for a in addr_rows if a.text("address_type") in ("", "physical")]
        if physical:
            a = physical[0]
            address = col.build(
                a,
                Address,
                {},
                address_1=a.text("address_1"),
                address_2=a.get("address_2"),
                city=a.text("city"),
                region=a.get("region"),
                state_province=a.get("state_province"),
                postal_code=a.text("postal_code"),
                country=(a.text("country") or "NL").upper(),
            )
        access = [
            acc
            for a in access_by_loc.get(lid, [])
            if (
                acc := col.build(
                    a,
                    Accessibility,
                    {"code": "details"},
                    code=a.text("details"),
                    description=a.text("description"),
                )
            )
        ]
        loc = col.build(
            r,
            Location,
            {},
            id=lid,
            name=r.text("name"),
            description=r.text("description"),
            location_type=r.get("location_type") or "physical",
            latitude=r.get("latitude"),
            longitude=r.get("longitude"),
            address=address,
            accessibility=access,
        )
        if loc:
            locations[lid] = loc

    sal_by_svc = _by(t["service_at_locations"], "service_id")
    sch_by_svc = _by(t["schedules"], "service_id")
    sch_by_sal = _by(t["schedules"], "service_at_location_id")
    lang_by_svc = _by(t["languages"], "service_id")
    cost_by_svc = _by(t["cost_options"], "service_id")
    contact_by_svc = _by(t["contacts"], "service_id")
    phone_by_svc = _by(t["phones"], "service_id")
    phone_by_contact = _by(t["phones"], "contact_id")
    attr_by_link = _by(t["attributes"], "link_id")
    _check_refs(t, svc_ids, loc_rows, term_rows, col)

    entries: list[Entry] = []
    for r in t["services"]:
        sid = r.text("id")
        if r.text("organization_id") not in orgs_rows:
            col.add(r, "organization_id", f"unknown organization {r.text('organization_id')!r}")
        sals: list[ServiceAtLocation] = []
        for s in sal_by_svc.get(sid, []):
            loc = locations.get(s.text("location_id"))
            if loc is not None:
                sal = col.build(
                    s,
                    ServiceAtLocation,
                    {},
                    id=s.text("id"),
                    location=loc,
                    description=s.text("description"),
                )
                if sal:
                    sals.append(sal)
        sal_ids = {s.text("id") for s in sal_by_svc.get(sid, [])}
        sch_rows = [x for x in sch_by_svc.get(sid, [])]
        sch_rows += [x for i in sorted(sal_ids) for x in sch_by_sal.get(i, []) if x not in sch_rows]
        schedules = [sch for x in sch_rows if (sch := _schedule(x, col))]
        categories, kind = _categories(attr_by_link.get(sid, []), term_rows, taxonomy, col)
        contacts = [
            c
            for x in contact_by_svc.get(sid, [])
            if (
                c := col.build(
                    x,
                    Contact,
                    {},
                    id=x.text("id"),
                    name=x.text("name"),
                    title=x.text("title"),
                    email=x.get("email"),
                    phones=[
                        p for y in phone_by_contact.get(x.text("id"), []) if (p := _phone(y, col))
                    ],
                )
            )
        ]
        phones = [p for y in phone_by_svc.get(sid, []) if (p := _phone(y, col))]
        languages = [
            lang
            for y in lang_by_svc.get(sid, [])
            if (
                lang := col.build(y, Language, {}, code=y.text("code").lower(), name=y.text("name"))
            )
        ]
        cost = _cost(r, cost_by_svc.get(sid, []), col)
        eligibility = col.build(
            r,
            Eligibility,
            {"description": "eligibility_description"},
            minimum_age=r.get("minimum_age"),
            maximum_age=r.get("maximum_age"),
            description=r.text("eligibility_description"),
        )
        assured = r.get("assured_date")
        entry = col.build(
            r,
            Entry,
            {"assured_at": "assured_date", "assured_by": "assurer_email"},
            id=sid,
            tenant=tenant,
            kind=kind,
            organization_id=r.text("organization_id"),
            name=r.text("name"),
            alternate_name=r.text("alternate_name"),
            description=r.text("description"),
            url=r.get("url"),
            email=r.get("email"),
            status=r.get("status") or "active",
            category_codes=categories,
            service_at_locations=sals,
            schedules=schedules,
            contacts=contacts,
            phones=phones,
            cost=cost or Cost(),
            eligibility=eligibility or Eligibility(),
            languages=languages,
            assured_at=f"{str(assured)[:10]}T00:00:00Z" if assured else None,
            assured_by=r.get("assurer_email"),
        )
        if entry:
            entries.append(entry)
    if col.issues:
        return ImportResult(None, sorted(col.issues, key=lambda i: (i.file, i.line, i.field)))
    orgs_sorted = [organizations[k] for k in sorted(organizations)]  # JSON has no file order
    if not col.deferred:
        return ImportResult(SocialMapData(organizations=orgs_sorted, entries=entries))
    try:
        data = SocialMapData.model_validate({"organizations": orgs_sorted, "entries": entries})
    except ValidationError:
        return ImportResult(None, [ImportIssue("", 0, "", "invalid (see the per-row pass)")])
    return ImportResult(data)


def _check_refs(
    t: Tables, svc_ids: set[str], locs: dict[str, _Row], terms: dict[str, _Row], col: _Collector
) -> None:
    sal_ids = {r.text("id") for r in t["service_at_locations"]}
    contact_ids = {r.text("id") for r in t["contacts"]}
    for r in t["service_at_locations"]:
        if r.text("service_id") not in svc_ids:
            col.add(r, "service_id", f"unknown service {r.text('service_id')!r}")
        if r.text("location_id") not in locs:
            col.add(r, "location_id", f"unknown location {r.text('location_id')!r}")
    for r in t["schedules"]:
        if r.get("service_id") is None and r.get("service_at_location_id") is None:
            col.add(r, "service_id", "a schedule needs service_id or service_at_location_id")
        elif r.get("service_id") is not None and r.text("service_id") not in svc_ids:
            col.add(r, "service_id", f"unknown service {r.text('service_id')!r}")
        elif (
            r.get("service_at_location_id") is not None
            and r.text("service_at_location_id") not in sal_ids
        ):
            col.add(r, "service_at_location_id", "unknown service_at_location")
    for name in ("languages", "cost_options", "contacts"):
        for r in t[name]:
            if r.text("service_id") not in svc_ids:
                col.add(r, "service_id", f"unknown service {r.text('service_id')!r}")
    for r in t["phones"]:
        if r.get("contact_id") is not None and r.text("contact_id") not in contact_ids:
            col.add(r, "contact_id", "unknown contact")
        elif r.get("contact_id") is None and r.text("service_id") not in svc_ids:
            col.add(r, "service_id", "unknown service")
    for name in ("addresses", "accessibility"):
        for r in t[name]:
            if r.text("location_id") not in locs:
                col.add(r, "location_id", f"unknown location {r.text('location_id')!r}")
    for r in t["attributes"]:
        if r.text("taxonomy_term_id") not in terms:
            col.add(r, "taxonomy_term_id", f"unknown taxonomy term {r.text('taxonomy_term_id')!r}")


def _schedule(r: _Row, col: _Collector) -> Schedule | None:
    dtstart = r.get("dtstart") or r.get("valid_from")
    if dtstart is None:
        col.add(r, "dtstart", "required (or valid_from)")
        return None
    return col.build(
        r,
        Schedule,
        {"rrule": "freq", "service_at_location_id": "service_at_location_id"},
        id=r.text("id"),
        rrule=columns_to_rrule(r.values),
        dtstart=str(dtstart)[:10],
        opens_at=r.get("opens_at"),
        closes_at=r.get("closes_at"),
        valid_from=r.get("valid_from"),
        valid_to=r.get("valid_to"),
        description=r.text("description"),
        service_at_location_id=r.get("service_at_location_id"),
    )


def _phone(r: _Row, col: _Collector) -> Phone | None:
    return col.build(
        r, Phone, {}, id=r.text("id"), number=r.text("number"), description=r.text("description")
    )


def _cost(service: _Row, rows: list[_Row], col: _Collector) -> Cost | None:
    if not rows:
        fees = service.text("fees_description")
        return col.build(
            service, Cost, {"description": "fees_description"}, free=not fees, description=fees
        )
    r = rows[0]
    raw = r.get("amount")
    try:
        amount = Decimal(str(raw)) if raw is not None else None
    except InvalidOperation:
        col.add(r, "amount", "not a number")
        return None
    free = amount is None or amount == 0
    return col.build(
        r,
        Cost,
        {},
        free=free,
        amount=None if free else amount,
        currency=(r.text("currency") or "EUR").upper(),
        description=r.text("amount_description"),
    )


def _categories(
    attrs: list[_Row], terms: dict[str, _Row], taxonomy: Taxonomy, col: _Collector
) -> tuple[list[str], EntryKind]:
    codes: list[str] = []
    kind = EntryKind.SERVICE
    for a in attrs:
        term = terms.get(a.text("taxonomy_term_id"))
        if term is None:
            continue
        code = term.text("code")
        if term.text("taxonomy") == KIND_TAXONOMY:
            if code not in EntryKind.__members__.values():
                col.add(term, "code", f"unknown entry kind {code!r}")
            else:
                kind = EntryKind(code)
        elif term.text("taxonomy") == CATEGORY_TAXONOMY:
            if code not in taxonomy:
                col.add(term, "code", f"unknown category {code!r}")
            elif code not in codes:
                codes.append(code)
    return codes, kind


# --- export ------------------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, Decimal):
        return str(v)
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _term_id(taxonomy_name: str, code: str) -> str:
    return f"{taxonomy_name}:{code}"


def to_tables(data: SocialMapData, taxonomy: Taxonomy) -> dict[str, list[dict[str, Any]]]:
    """Our model as HSDS tables (values JSON-ready; ids of sub-records derived, stable)."""
    t: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}
    for o in data.organizations:
        t["organizations"].append(
            {
                "id": o.id,
                "name": o.name,
                "alternate_name": None,
                "description": o.description,
                "email": o.email,
                "website": o.website,
                "legal_status": o.kind.value,
            }
        )
    terms: dict[str, dict[str, Any]] = {}
    seen_locations: set[str] = set()
    for e in data.entries:
        t["services"].append(
            {
                "id": e.id,
                "organization_id": e.organization_id,
                "name": e.name,
                "alternate_name": e.alternate_name or None,
                "description": e.description,
                "url": e.url,
                "email": e.email,
                "status": e.status.value,
                "fees_description": e.cost.description or None,
                "eligibility_description": e.eligibility.description or None,
                "minimum_age": e.eligibility.minimum_age,
                "maximum_age": e.eligibility.maximum_age,
                "assured_date": e.assured_at.date().isoformat() if e.assured_at else None,
                "assurer_email": e.assured_by,
            }
        )
        for sal in e.service_at_locations:
            loc = sal.location
            t["service_at_locations"].append(
                {
                    "id": sal.id,
                    "service_id": e.id,
                    "location_id": loc.id,
                    "description": sal.description or None,
                }
            )
            if loc.id in seen_locations:
                continue
            seen_locations.add(loc.id)
            t["locations"].append(
                {
                    "id": loc.id,
                    "location_type": loc.location_type.value,
                    "name": loc.name or None,
                    "description": loc.description or None,
                    "latitude": loc.latitude,
                    "longitude": loc.longitude,
                }
            )
            if loc.address is not None:
                a = loc.address
                t["addresses"].append(
                    {
                        "id": f"{loc.id}-address",
                        "location_id": loc.id,
                        "address_1": a.address_1,
                        "address_2": a.address_2,
                        "city": a.city,
                        "region": a.region,
                        "state_province": a.state_province,
                        "postal_code": a.postal_code,
                        "country": a.country,
                        "address_type": "physical",
                    }
                )
            for i, acc in enumerate(loc.accessibility):
                t["accessibility"].append(
                    {
                        "id": f"{loc.id}-access-{i}",
                        "location_id": loc.id,
                        "description": acc.description or None,
                        "details": acc.code,
                    }
                )
        for s in e.schedules:
            t["schedules"].append(
                {
                    "id": s.id,
                    "service_id": e.id,
                    "service_at_location_id": s.service_at_location_id,
                    "valid_from": _plain(s.valid_from),
                    "valid_to": _plain(s.valid_to),
                    "dtstart": s.dtstart.isoformat(),
                    "timezone": None,
                    "description": s.description or None,
                    "opens_at": _plain(s.opens_at),
                    "closes_at": _plain(s.closes_at),
                    **rrule_to_columns(s.rrule),
                }
            )
        for i, lang in enumerate(e.languages):
            t["languages"].append(
                {
                    "id": f"{e.id}-lang-{i}",
                    "service_id": e.id,
                    "location_id": None,
                    "name": lang.name or None,
                    "code": lang.code,
                    "note": None,
                }
            )
        c = e.cost
        t["cost_options"].append(
            {
                "id": f"{e.id}-cost",
                "service_id": e.id,
                "option": "gratis" if c.free else "bijdrage",
                "amount": "0" if c.free or c.amount is None else str(c.amount),
                "currency": c.currency,
                "amount_description": c.description or None,
            }
        )
        if not c.free and c.amount is None:
            t["cost_options"][-1]["amount"] = None
        for ct in e.contacts:
            t["contacts"].append(
                {
                    "id": ct.id,
                    "service_id": e.id,
                    "name": ct.name or None,
                    "title": ct.title or None,
                    "email": ct.email,
                }
            )
            for p in ct.phones:
                t["phones"].append(
                    {
                        "id": p.id,
                        "service_id": None,
                        "contact_id": ct.id,
                        "number": p.number,
                        "description": p.description or None,
                    }
                )
        for p in e.phones:
            t["phones"].append(
                {
                    "id": p.id,
                    "service_id": e.id,
                    "contact_id": None,
                    "number": p.number,
                    "description": p.description or None,
                }
            )
        links = [(CATEGORY_TAXONOMY, code) for code in e.category_codes]
        links.append((KIND_TAXONOMY, e.kind.value))
        for tax, code in links:
            tid = _term_id(tax, code)
            t["attributes"].append(
                {
                    "id": f"{e.id}-{tid}",
                    "link_id": e.id,
                    "taxonomy_term_id": tid,
                    "link_type": "category" if tax == CATEGORY_TAXONOMY else "kind",
                    "link_entity": "service",
                    "value": None,
                }
            )
            if tid not in terms:
                terms[tid] = _term(tax, code, taxonomy)
    # include ancestors so the tree is complete in the package
    for tid in list(terms):
        tax, code = tid.split(":", 1)
        if tax == CATEGORY_TAXONOMY:
            for anc in taxonomy.ancestors(code):
                terms.setdefault(_term_id(tax, anc), _term(tax, anc, taxonomy))
    t["taxonomy_terms"] = sorted(terms.values(), key=lambda r: r["id"])
    return t


def _term(tax: str, code: str, taxonomy: Taxonomy) -> dict[str, Any]:
    if tax == KIND_TAXONOMY:
        return {
            "id": _term_id(tax, code),
            "code": code,
            "name": code,
            "description": None,
            "parent_id": None,
            "taxonomy": tax,
            "language": "en",
        }
    cat = taxonomy.get(code)
    return {
        "id": _term_id(tax, code),
        "code": code,
        "name": cat.label_nl,
        "description": cat.label_en,
        "parent_id": _term_id(tax, cat.parent) if cat.parent else None,
        "taxonomy": tax,
        "language": "nl",
    }


def export_csv(data: SocialMapData, taxonomy: Taxonomy) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, rows in to_tables(data, taxonomy).items():
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS[name], lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if r.get(k) is None else r[k] for k in COLUMNS[name]})
        out[f"{name}.csv"] = buf.getvalue()
    return out


def export_json(data: SocialMapData, taxonomy: Taxonomy) -> str:
    """A JSON list of HSDS 3.0 service objects with everything nested."""
    t = to_tables(data, taxonomy)
    orgs = {r["id"]: r for r in t["organizations"]}
    locs = {r["id"]: r for r in t["locations"]}
    terms = {r["id"]: r for r in t["taxonomy_terms"]}

    def by(table: str, key: str) -> dict[Any, list[dict[str, Any]]]:
        out: dict[Any, list[dict[str, Any]]] = {}
        for r in t[table]:
            out.setdefault(r[key], []).append(r)
        return out

    addr, acc = by("addresses", "location_id"), by("accessibility", "location_id")
    sals, sch = by("service_at_locations", "service_id"), by("schedules", "service_id")
    langs, costs = by("languages", "service_id"), by("cost_options", "service_id")
    contacts, attrs = by("contacts", "service_id"), by("attributes", "link_id")
    phones_svc, phones_ct = by("phones", "service_id"), by("phones", "contact_id")
    services = []
    for s in t["services"]:
        sid = s["id"]
        svc = dict(s)
        svc["organization"] = orgs.get(s["organization_id"])
        svc["service_at_locations"] = [
            {
                **sal,
                "location": {
                    **locs[lid],
                    "addresses": addr.get(lid, []),
                    "accessibility": acc.get(lid, []),
                },
            }
            for sal in sals.get(sid, [])
            if (lid := sal["location_id"])
        ]
        svc["schedules"] = sch.get(sid, [])
        svc["languages"] = langs.get(sid, [])
        svc["cost_options"] = costs.get(sid, [])
        svc["phones"] = phones_svc.get(sid, [])
        svc["contacts"] = [
            {**c, "phones": phones_ct.get(c["id"], [])} for c in contacts.get(sid, [])
        ]
        svc["attributes"] = [
            {**a, "taxonomy_term": terms[a["taxonomy_term_id"]]} for a in attrs.get(sid, [])
        ]
        services.append(svc)
    return json.dumps(services, ensure_ascii=False, indent=2)
