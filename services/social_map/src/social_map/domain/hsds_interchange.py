"""HSDS 3.0 import (nested JSON "service" objects, or the CSV tabular package) and, from
`hsds_export`, the export.

Both formats go through one flat-table form (HSDS object name → rows), so there is one mapping
to our model. Import is all-or-nothing: any issue → no data, and a report of every issue with
file, line (CSV: physical line, header = 1; JSON: 1-based index of the service), field (HSDS
column, prefixed with the nested path in JSON) and message. One exception, as importers of
open data do: a location's unusable coordinates (off the globe, not a number, half a pair) are
dropped with a warning in the same form and the record is kept (the location is then not on
the map); `strict=True` makes them issues like any other (the official examples place their
location at latitude 100).

What is read: every file of the specification's package is accepted (`hsds_tables`; also
`service_at_locations.csv`, our name before 2026-12), the ones we have no place for
(programs, funding, service areas, …) are ignored; a JSON document is a list of services, one
service object (as `service_full.json`) or a paged API response (`contents`). Ids are the
HSDS ids, except where our own export left our id in `metadata` (`hsds_ids`). Terms of
taxonomies other than ours are ignored; a term's parent_id is informative only (our
taxonomy is the tree). Accessibility `details` that are not one of our feature codes (free
text, as HSDS means it) become feature "other" with that text. The export's fallbacks for
required fields (`UNKNOWN_PROVINCE`, an organisation's name as its description) read back
as "not given".
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from social_map.domain.hsds_export import (
    CATEGORY_TAXONOMY,
    KIND_TAXONOMY,
    UNKNOWN_PROVINCE,
    export_csv,
    export_json,
    to_tables,
)
from social_map.domain.hsds_ids import local_ids
from social_map.domain.hsds_rrule import columns_to_rrule
from social_map.domain.hsds_tables import BY_NAME, BY_PATH
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
from social_map.domain.schedule_rules import until_over_count
from social_map.domain.taxonomy import Taxonomy

__all__ = [
    "CATEGORY_TAXONOMY",
    "KIND_TAXONOMY",
    "ImportIssue",
    "ImportResult",
    "export_csv",
    "export_json",
    "import_csv",
    "import_json",
    "keep_stored_assurance",
    "to_tables",
]

JSON_FILE = "services.json"
#: Our file name of service_at_location before the export used the specification's.
LEGACY_PATHS = {"service_at_locations.csv": "service_at_location"}
#: The tables the import maps; other tables of the specification are read and ignored.
READ_TABLES = (
    "organization",
    "service",
    "location",
    "address",
    "service_at_location",
    "schedule",
    "taxonomy_term",
    "attribute",
    "language",
    "cost_option",
    "contact",
    "phone",
    "accessibility",
    "metadata",
)
_COLUMN_SETS = {name: frozenset(BY_NAME[name].columns) for name in READ_TABLES}
REQUIRED_FILES = ("organizations.csv", "services.csv")
#: Accessibility details that are not one of our feature codes (HSDS: free text).
OTHER_FEATURE = "other"
_FEATURE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


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
    #: values dropped while the record was kept (lenient import only)
    warnings: list[ImportIssue] = field(default_factory=list)

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


def _empty_tables() -> Tables:
    return {name: [] for name in READ_TABLES}


class _Collector:
    """Issues of one pass. `deferred`: `build` returns the unvalidated keyword dict and the
    caller validates everything in one pydantic call at the end (fast path); if anything is
    wrong, the import runs again with per-row validation for the line-level report."""

    def __init__(self, *, deferred: bool = False, strict: bool = False) -> None:
        self.issues: list[ImportIssue] = []
        self.warnings: list[ImportIssue] = []
        self.deferred = deferred
        self.strict = strict

    def add(self, row: _Row, column: str, message: str) -> None:
        self.issues.append(ImportIssue(row.file, row.line, row.prefix + column, message))

    def warn(self, row: _Row, column: str, message: str) -> None:
        self.warnings.append(ImportIssue(row.file, row.line, row.prefix + column, message))

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


# --- reading the two formats -------------------------------------------------------------------


def import_csv(
    files: Mapping[str, str], *, tenant: str, taxonomy: Taxonomy, strict: bool = False
) -> ImportResult:
    """`files`: file name (e.g. "services.csv") → CSV text with a header row."""
    tables = _empty_tables()
    issues: list[ImportIssue] = []
    for fname in sorted(files):
        table = BY_PATH[fname].name if fname in BY_PATH else LEGACY_PATHS.get(fname)
        if table is None:
            issues.append(ImportIssue(fname, 0, "", "unknown file in HSDS package"))
            continue
        reader = csv.DictReader(io.StringIO(files[fname]))
        header = reader.fieldnames or []
        if "id" not in header:
            issues.append(ImportIssue(fname, 1, "id", "missing column"))
            continue
        if table not in tables:
            continue  # a table of the specification we have no place for
        for rec in reader:
            tables[table].append(_Row(fname, reader.line_num, "", dict(rec)))
    for req in REQUIRED_FILES:
        if req not in files:
            issues.append(ImportIssue(req, 0, "", "required file missing"))
    if issues:
        return ImportResult(None, issues)
    return _from_tables(tables, tenant, taxonomy, strict)


def import_json(
    text: str, *, tenant: str, taxonomy: Taxonomy, strict: bool = False
) -> ImportResult:
    """`text`: a JSON list of HSDS 3.0 service objects with nested organization etc., one
    service object, or a paged HSDS API response."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return ImportResult(
            None, [ImportIssue(JSON_FILE, exc.lineno, "", f"invalid JSON: {exc.msg}")]
        )
    if isinstance(doc, dict) and isinstance(doc.get("contents"), list):
        doc = doc["contents"]  # a paged HSDS API response
    elif isinstance(doc, dict) and "id" in doc and "name" in doc:
        doc = [doc]  # one service object
    if not isinstance(doc, list):
        return ImportResult(None, [ImportIssue(JSON_FILE, 0, "", "expected a list of services")])
    tables = _empty_tables()
    issues: list[ImportIssue] = []
    for i, svc in enumerate(doc, start=1):
        if not isinstance(svc, dict):
            issues.append(ImportIssue(JSON_FILE, i, "", "expected an object"))
            continue
        _flatten_service(svc, i, tables, issues)
    if issues:
        return ImportResult(None, issues)
    return _from_tables(tables, tenant, taxonomy, strict)


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
        if (metadata := obj.get("metadata")) is not None:  # rare: only our mapped ids
            for j, m in enumerate(_objs(metadata, row, "metadata", issues)):
                t["metadata"].append(_Row(JSON_FILE, n, f"{prefix}metadata[{j}].", dict(m)))
        return row

    srow = add("service", "", svc)
    org = svc.get("organization")
    if isinstance(org, dict):
        add("organization", "organization.", org)
        srow.values.setdefault("organization_id", org.get("id"))
    sid = svc.get("id")
    for i, sal in enumerate(
        _objs(svc.get("service_at_locations"), srow, "service_at_locations", issues)
    ):
        p = f"service_at_locations[{i}]."
        loc = sal.get("location")
        loc_id = sal.get("location_id") or (loc.get("id") if isinstance(loc, dict) else None)
        sal_row = add("service_at_location", p, sal, service_id=sid, location_id=loc_id)
        if isinstance(loc, dict):
            lrow = add("location", p + "location.", loc)
            for j, a in enumerate(_objs(loc.get("addresses"), lrow, "addresses", issues)):
                add("address", f"{p}location.addresses[{j}].", a, location_id=loc_id)
            for j, a in enumerate(_objs(loc.get("accessibility"), lrow, "accessibility", issues)):
                add("accessibility", f"{p}location.accessibility[{j}].", a, location_id=loc_id)
        for j, s in enumerate(_objs(sal.get("schedules"), sal_row, "schedules", issues)):
            add(
                "schedule",
                f"{p}schedules[{j}].",
                s,
                service_id=sid,
                service_at_location_id=sal.get("id"),
            )
    for key, table in (
        ("schedules", "schedule"),
        ("languages", "language"),
        ("cost_options", "cost_option"),
        ("phones", "phone"),
        ("attributes", "attribute"),
    ):
        for i, obj in enumerate(_objs(svc.get(key), srow, key, issues)):
            row = add(table, f"{key}[{i}].", obj, service_id=sid)
            if key == "attributes":
                row.values.setdefault("link_id", sid)
                term = obj.get("taxonomy_term")
                if isinstance(term, dict):
                    add("taxonomy_term", f"attributes[{i}].taxonomy_term.", term)
                    row.values.setdefault("taxonomy_term_id", term.get("id"))
    for i, c in enumerate(_objs(svc.get("contacts"), srow, "contacts", issues)):
        crow = add("contact", f"contacts[{i}].", c, service_id=sid)
        for j, ph in enumerate(_objs(c.get("phones"), crow, "phones", issues)):
            add("phone", f"contacts[{i}].phones[{j}].", ph, contact_id=c.get("id"))


# --- one mapping from HSDS tables to our model -------------------------------------------------


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


_SCHEDULE_LINKS = frozenset({"service_id", "service_at_location_id", "location_id"})


def _same_schedule(a: _Row, b: _Row) -> bool:
    """One schedule nested twice in JSON (under the service and under its location, as the
    official example does): the same id and content, linked at two levels."""
    keys = (a.values.keys() | b.values.keys()) - _SCHEDULE_LINKS
    return a.text("id") != "" and all(a.get(k) == b.get(k) for k in keys)


def _schedules_of(rows: list[_Row]) -> list[_Row]:
    """A service's schedule rows, each schedule once (the most specific link kept)."""
    out: list[_Row] = []
    for r in rows:
        twin = next((i for i, x in enumerate(out) if x is r or _same_schedule(x, r)), None)
        if twin is None:
            out.append(r)
        elif out[twin].get("service_at_location_id") is None:
            out[twin] = r if r.get("service_at_location_id") is not None else out[twin]
    return out


def _from_tables(t: Tables, tenant: str, taxonomy: Taxonomy, strict: bool) -> ImportResult:
    """Fast path first: build plain dicts and validate the whole map in one pydantic call.
    Only if that finds any problem, run again validating row by row: that pass gives the
    line-level report (file, line, column) exactly as before."""
    fast = _build_map(t, tenant, taxonomy, _Collector(deferred=True, strict=strict))
    if fast.data is not None:
        return fast
    return _build_map(t, tenant, taxonomy, _Collector(strict=strict))


#: coordinate → (its Dutch name, the largest absolute value)
_COORDINATES = {"latitude": ("breedtegraad", 90.0), "longitude": ("lengtegraad", 180.0)}


def _coordinates(r: _Row, col: _Collector) -> tuple[Any, Any]:
    """The location's (latitude, longitude) as given; in a lenient import an unusable pair
    becomes (None, None) with a warning per bad value (strict: the model reports them)."""
    lat, lon = r.get("latitude"), r.get("longitude")
    if col.strict or (lat is None and lon is None):
        return lat, lon
    reasons: dict[str, tuple[str, str]] = {}
    for name, value in (("latitude", lat), ("longitude", lon)):
        nl, limit = _COORDINATES[name]
        number = _number(value)
        if value is None:
            reasons[name] = (f"{nl} ontbreekt", f"{name} is missing")
        elif number is None:
            reasons[name] = (f"{nl} {value} is geen getal", f"{name} {value} is not a number")
        elif not -limit <= number <= limit:
            bounds = f"-{limit:g}..{limit:g}"
            reasons[name] = (
                f"{nl} {value} ligt buiten {bounds}",
                f"{name} {value} is outside {bounds}",
            )
    for name, (nl, en) in reasons.items():
        col.warn(
            r,
            name,
            f"{nl.capitalize()}: de locatie is zonder coördinaten geïmporteerd. / "
            f"{en.capitalize()}: the location was imported without coordinates.",
        )
    return (None, None) if reasons else (lat, lon)


def _number(value: Any) -> float | None:
    """A finite number, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _build_map(t: Tables, tenant: str, taxonomy: Taxonomy, col: _Collector) -> ImportResult:
    mapped = local_ids(r.values for r in t["metadata"])

    def local(hsds_id: str) -> str:
        """Our id of a record (our export left it in `metadata`), else the HSDS id."""
        return mapped.get(hsds_id, hsds_id)

    orgs_rows = _unique(t["organization"], col)
    loc_rows = _unique(t["location"], col)
    term_rows = _unique(t["taxonomy_term"], col)
    for shared_child in ("address", "accessibility"):  # repeated under each service in JSON
        t[shared_child] = list(_unique(t[shared_child], col).values())
    svc_ids: set[str] = set()
    entry_ids: set[str] = set()
    for r in t["service"]:
        if r.text("id") in svc_ids:
            col.add(r, "id", f"duplicate id {r.text('id')!r}")
        elif local(r.text("id")) in entry_ids:
            col.add(r, "id", f"duplicate id {local(r.text('id'))!r} (metadata)")
        svc_ids.add(r.text("id"))
        entry_ids.add(local(r.text("id")))

    organizations: dict[str, Organization] = {}
    for oid, r in orgs_rows.items():
        kind = r.text("legal_status")
        description = r.text("description")
        o = col.build(
            r,
            Organization,
            {},
            id=local(oid),
            name=r.text("name"),
            description="" if description == r.text("name") else description,
            email=r.get("email"),
            website=r.get("website"),
            kind=OwnerKind.RESIDENTS_INITIATIVE
            if kind == OwnerKind.RESIDENTS_INITIATIVE.value
            else OwnerKind.ORGANISATION,
        )
        if o:
            organizations[oid] = o

    addr_by_loc = _by(t["address"], "location_id")
    access_by_loc = _by(t["accessibility"], "location_id")
    locations: dict[str, Location] = {}
    for lid, r in loc_rows.items():
        address = None
        addr_rows = addr_by_loc.get(lid, [])
        physical = [a for a in addr_rows if a.text("address_type") in ("", "physical")]
        if physical:
            a = physical[0]
            province = a.get("state_province")
            address = col.build(
                a,
                Address,
                {},
                address_1=a.text("address_1"),
                address_2=a.get("address_2"),
                city=a.text("city"),
                region=a.get("region"),
                state_province=None if province == UNKNOWN_PROVINCE else province,
                postal_code=a.text("postal_code"),
                country=(a.text("country") or "NL").upper(),
            )
        access = [
            acc for a in access_by_loc.get(lid, []) if (acc := _accessibility(a, col)) is not None
        ]
        latitude, longitude = _coordinates(r, col)
        loc = col.build(
            r,
            Location,
            {},
            id=local(lid),
            name=r.text("name"),
            description=r.text("description"),
            location_type=r.get("location_type") or "physical",
            latitude=latitude,
            longitude=longitude,
            address=address,
            accessibility=access,
        )
        if loc:
            locations[lid] = loc

    sal_by_svc = _by(t["service_at_location"], "service_id")
    sch_by_svc = _by(t["schedule"], "service_id")
    sch_by_sal = _by(
        [r for r in t["schedule"] if r.get("service_id") is None], "service_at_location_id"
    )
    lang_by_svc = _by(t["language"], "service_id")
    cost_by_svc = _by(t["cost_option"], "service_id")
    contact_by_svc = _by(t["contact"], "service_id")
    phone_by_svc = _by(t["phone"], "service_id")
    phone_by_contact = _by(t["phone"], "contact_id")
    attr_by_link = _by(t["attribute"], "link_id")
    _check_refs(t, svc_ids, loc_rows, term_rows, col)

    entries: list[Entry] = []
    for r in t["service"]:
        sid = r.text("id")
        if r.text("organization_id") not in orgs_rows:
            col.add(r, "organization_id", f"unknown organization {r.text('organization_id')!r}")
        sals: list[ServiceAtLocation] = []
        built: set[str] = set()  # HSDS ids of this service's locations that could be built
        for s in sal_by_svc.get(sid, []):
            loc = locations.get(s.text("location_id"))
            if loc is not None:
                sal = col.build(
                    s,
                    ServiceAtLocation,
                    {},
                    id=local(s.text("id")),
                    location=loc,
                    description=s.text("description"),
                )
                if sal:
                    sals.append(sal)
                    built.add(s.text("id"))
        sal_ids = {s.text("id") for s in sal_by_svc.get(sid, [])}
        sch_rows = list(sch_by_svc.get(sid, []))
        sch_rows += [x for i in sorted(sal_ids) for x in sch_by_sal.get(i, [])]
        schedules = [
            sch for x in _schedules_of(sch_rows) if (sch := _schedule(x, col, local, built))
        ]
        categories, kind = _categories(attr_by_link.get(sid, []), term_rows, taxonomy, col)
        contacts = [
            c
            for x in contact_by_svc.get(sid, [])
            if (
                c := col.build(
                    x,
                    Contact,
                    {},
                    id=local(x.text("id")),
                    name=x.text("name"),
                    title=x.text("title"),
                    email=x.get("email"),
                    phones=[
                        p
                        for y in phone_by_contact.get(x.text("id"), [])
                        if (p := _phone(y, col, local))
                    ],
                )
            )
        ]
        phones = [p for y in phone_by_svc.get(sid, []) if (p := _phone(y, col, local))]
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
            id=local(sid),
            tenant=tenant,
            kind=kind,
            organization_id=local(r.text("organization_id")),
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
    # JSON has no file order: by our id, as stored
    orgs_sorted = sorted(organizations.values(), key=lambda o: _field(o, "id"))
    warnings = sorted(col.warnings, key=lambda i: (i.file, i.line, i.field))
    if not col.deferred:
        return ImportResult(SocialMapData(organizations=orgs_sorted, entries=entries), [], warnings)
    try:
        data = SocialMapData.model_validate({"organizations": orgs_sorted, "entries": entries})
    except ValidationError:
        return ImportResult(None, [ImportIssue("", 0, "", "invalid (see the per-row pass)")])
    return ImportResult(data, [], warnings)


def _field(obj: Any, name: str) -> Any:
    """A field of a built model, or of the keyword dict the deferred pass builds instead."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def _check_refs(
    t: Tables, svc_ids: set[str], locs: dict[str, _Row], terms: dict[str, _Row], col: _Collector
) -> None:
    sal_ids = {r.text("id") for r in t["service_at_location"]}
    contact_ids = {r.text("id") for r in t["contact"]}
    for r in t["service_at_location"]:
        if r.text("service_id") not in svc_ids:
            col.add(r, "service_id", f"unknown service {r.text('service_id')!r}")
        if r.text("location_id") not in locs:
            col.add(r, "location_id", f"unknown location {r.text('location_id')!r}")
    for r in t["schedule"]:
        if r.get("service_id") is None and r.get("service_at_location_id") is None:
            col.add(r, "service_id", "a schedule needs service_id or service_at_location_id")
        elif r.get("service_id") is not None and r.text("service_id") not in svc_ids:
            col.add(r, "service_id", f"unknown service {r.text('service_id')!r}")
        elif (
            r.get("service_at_location_id") is not None
            and r.text("service_at_location_id") not in sal_ids
        ):
            col.add(r, "service_at_location_id", "unknown service_at_location")
    for name in ("language", "cost_option", "contact"):
        for r in t[name]:
            if r.text("service_id") not in svc_ids:
                col.add(r, "service_id", f"unknown service {r.text('service_id')!r}")
    for r in t["phone"]:
        if r.get("contact_id") is not None and r.text("contact_id") not in contact_ids:
            col.add(r, "contact_id", "unknown contact")
        elif r.get("contact_id") is None and r.text("service_id") not in svc_ids:
            col.add(r, "service_id", "unknown service")
    for name in ("address", "accessibility"):
        for r in t[name]:
            if r.text("location_id") not in locs:
                col.add(r, "location_id", f"unknown location {r.text('location_id')!r}")
    for r in t["attribute"]:
        if r.text("taxonomy_term_id") not in terms:
            col.add(r, "taxonomy_term_id", f"unknown taxonomy term {r.text('taxonomy_term_id')!r}")


def _accessibility(r: _Row, col: _Collector) -> Accessibility | None:
    details, description = r.text("details"), r.text("description")
    if _FEATURE_CODE.match(details) is None:  # free text (HSDS): a feature we have no code for
        description = " — ".join(x for x in (description, details) if x)[:300]
        details = OTHER_FEATURE
    return col.build(r, Accessibility, {"code": "details"}, code=details, description=description)


def _rrule_of(r: _Row, col: _Collector) -> str | None:
    """The schedule's RRULE with at most one of `count` and `until`: RFC 5545 forbids both
    (the official HSDS example has both). Lenient: the end date wins (`until_over_count`),
    with a warning; strict: refused."""
    rrule = columns_to_rrule(r.values)
    count, until = r.get("count"), r.get("until")
    if rrule is None or count in (None, "") or until in (None, ""):
        return rrule
    if col.strict:
        col.add(r, "count", "count and until together: iCalendar (RFC 5545) allows one of them")
    else:
        col.warn(
            r,
            "count",
            f"Herhaling: 'count' ({count}) en 'until' ({until}) samen kan niet in iCalendar; "
            f"'count' is weggelaten, de herhaling stopt op {until}. / Recurrence: 'count' "
            f"({count}) and 'until' ({until}) together are not allowed in iCalendar; 'count' "
            f"was dropped, the recurrence ends on {until}.",
        )
    return until_over_count(rrule)


def _schedule(
    r: _Row, col: _Collector, local: Callable[[str], str], built_sals: set[str]
) -> Schedule | None:
    dtstart = r.get("dtstart") or r.get("valid_from")
    if dtstart is None:
        col.add(r, "dtstart", "required (or valid_from)")
        return None
    sal_id = r.get("service_at_location_id")
    if sal_id is not None and str(sal_id) not in built_sals and col.issues:
        sal_id = None  # its location is reported already; the link would only repeat that
    return col.build(
        r,
        Schedule,
        {"rrule": "freq", "service_at_location_id": "service_at_location_id"},
        id=local(r.text("id")),
        rrule=_rrule_of(r, col),
        dtstart=str(dtstart)[:10],
        opens_at=r.get("opens_at"),
        closes_at=r.get("closes_at"),
        valid_from=r.get("valid_from"),
        valid_to=r.get("valid_to"),
        description=r.text("description"),
        service_at_location_id=None if sal_id is None else local(str(sal_id)),
    )


def _phone(r: _Row, col: _Collector, local: Callable[[str], str]) -> Phone | None:
    return col.build(
        r,
        Phone,
        {},
        id=local(r.text("id")),
        number=r.text("number"),
        description=r.text("description"),
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


# --- re-import ---------------------------------------------------------------------------------


def keep_stored_assurance(stored: Entry, imported: Entry) -> Entry:
    """What an import of an entry we hold keeps of the stored one: HSDS carries only the
    date of the last check (`assured_date`) and only e-mail addresses as assurer, so an import
    that brings the same date as stored keeps the stored time and assurer (the check it
    describes is the stored one)."""
    old, new = stored.assured_at, imported.assured_at
    if old is None or new is None or new.time() != time(0) or new.date() != old.date():
        return imported
    return imported.model_copy(
        update={"assured_at": old, "assured_by": imported.assured_by or stored.assured_by}
    )
