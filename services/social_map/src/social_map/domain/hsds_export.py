"""HSDS 3.0 export: our model as the specification's tables, as nested JSON service objects and
as the CSV tabular package (the spec's file names and columns, `hsds_tables`).

What the official validators ask for, and how we meet it:
- ids are UUIDs (`hsds_ids`: our non-UUID ids get stable name-based UUIDs and travel in
  `metadata`, so an import restores them);
- required fields are filled: `address.state_province` is `UNKNOWN_PROVINCE` when we do not
  know it, `organization.description` falls back to the name, taxonomy terms and taxonomies
  have descriptions; an import reads those fallbacks back as "not given" (lossless);
- `amount` is a number; JSON leaves out what is empty (the schemas allow no nulls);
- `schedule.freq` is WEEKLY or MONTHLY; other rules travel in `notes` (`hsds_rrule`);
- `assurer_email` only when the assurer is an e-mail address (a staff member's id is
  internal), `assured_date` is the date of `assured_at` (an import of the same date keeps
  the stored time, see `hsds_interchange.keep_stored_assurance`).

Our taxonomy travels as taxonomy_terms of taxonomy "wijkkracht" linked through attributes,
the entry kind as a term of taxonomy "wijkkracht-kind". Not exported (internal): outdated
reports, revision, tenant_org_slug. `timezone` stays empty: all times are Europe/Amsterdam
wall-clock.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from social_map.domain.hsds_ids import derived_uuid, id_metadata, record_uuid
from social_map.domain.hsds_rrule import rrule_to_columns
from social_map.domain.hsds_tables import BY_NAME, TABLES
from social_map.domain.model import Entry, Location, Organization, Phone, SocialMapData
from social_map.domain.taxonomy import Taxonomy

CATEGORY_TAXONOMY = "wijkkracht"
KIND_TAXONOMY = "wijkkracht-kind"
#: `address.state_province` is required by HSDS; ours is optional.
UNKNOWN_PROVINCE = "onbekend"

TAXONOMIES: dict[str, dict[str, str]] = {
    CATEGORY_TAXONOMY: {
        "name": "Wijkkracht categorieën",
        "description": "De categorieën van de sociale kaart van Wijkkracht (per regio "
        "aanpasbaar). / The social map's categories.",
    },
    KIND_TAXONOMY: {
        "name": "Wijkkracht soort aanbod",
        "description": "Soort aanbod: 'service' (een dienst) of 'activity' (een activiteit met "
        "data). / Kind of entry: a service or an activity with dates.",
    },
}
_KIND_DESCRIPTIONS = {
    "service": "Een dienst of voorziening. / A service.",
    "activity": "Een activiteit met vaste momenten. / An activity with dated occurrences.",
}

Row = dict[str, Any]
Tables = dict[str, list[Row]]


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool | Decimal):
        return v
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def term_id(taxonomy_name: str, code: str) -> str:
    return derived_uuid("taxonomy_term", taxonomy_name, code)


def taxonomy_id(taxonomy_name: str) -> str:
    return derived_uuid("taxonomy", taxonomy_name)


class _Exporter:
    """Builds the tables of one export; also keeps each record's nested children for JSON."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.t: Tables = {table.name: [] for table in TABLES}
        self.terms: dict[str, Row] = {}
        self.phones: dict[str, Row] = {}

    def add(self, table: str, row: Row, kind_and_id: tuple[str, str] | None = None) -> Row:
        self.t[table].append(row)
        if kind_and_id is not None:
            kind, ours = kind_and_id
            for m in id_metadata(kind, ours, row["id"]):
                self.t["metadata"].append(m)
                row.setdefault("_metadata", []).append(m)
        return row

    def organization(self, o: Organization) -> None:
        oid = record_uuid("organization", o.id)
        self.add(
            "organization",
            {
                "id": oid,
                "name": o.name,
                "description": o.description or o.name,  # required by HSDS
                "email": o.email,
                "website": o.website,
                "legal_status": o.kind.value,
            },
            ("organization", o.id),
        )

    def entry(self, e: Entry, seen_locations: set[str]) -> None:
        sid = record_uuid("service", e.id)
        self.add(
            "service",
            {
                "id": sid,
                "organization_id": record_uuid("organization", e.organization_id),
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
                "assurer_email": e.assured_by if e.assured_by and "@" in e.assured_by else None,
            },
            ("service", e.id),
        )
        sal_ids: dict[str, str] = {}
        for sal in e.service_at_locations:
            loc = sal.location
            lid = record_uuid("location", loc.id)
            sal_ids[sal.id] = record_uuid("service_at_location", sal.id, e.id)
            self.add(
                "service_at_location",
                {
                    "id": sal_ids[sal.id],
                    "service_id": sid,
                    "location_id": lid,
                    "description": sal.description or None,
                },
                ("service_at_location", sal.id),
            )
            if lid not in seen_locations:
                seen_locations.add(lid)
                self.location(loc, lid)
        for s in e.schedules:
            self.add(
                "schedule",
                {
                    "id": record_uuid("schedule", s.id, e.id),
                    "service_id": sid,
                    "service_at_location_id": sal_ids.get(s.service_at_location_id or ""),
                    "valid_from": _plain(s.valid_from),
                    "valid_to": _plain(s.valid_to),
                    "dtstart": s.dtstart.isoformat(),
                    "description": s.description or None,
                    "opens_at": _plain(s.opens_at),
                    "closes_at": _plain(s.closes_at),
                    **rrule_to_columns(s.rrule),
                },
                ("schedule", s.id),
            )
        for i, lang in enumerate(e.languages):
            self.add(
                "language",
                {
                    "id": derived_uuid("language", sid, i),
                    "service_id": sid,
                    "name": lang.name or None,
                    "code": lang.code,
                },
            )
        c = e.cost
        self.add(
            "cost_option",
            {
                "id": derived_uuid("cost_option", sid),
                "service_id": sid,
                "option": "gratis" if c.free else "bijdrage",
                "amount": Decimal(0) if c.free else c.amount,
                "currency": c.currency,
                "amount_description": c.description or None,
            },
        )
        for ct in e.contacts:
            cid = record_uuid("contact", ct.id, e.id)
            self.add(
                "contact",
                {
                    "id": cid,
                    "service_id": sid,
                    "name": ct.name or None,
                    "title": ct.title or None,
                    "email": ct.email,
                },
                ("contact", ct.id),
            )
            for p in ct.phones:
                self.phone(p, e.id, contact_id=cid)
        for p in e.phones:
            self.phone(p, e.id, service_id=sid)
        links = [(CATEGORY_TAXONOMY, code) for code in e.category_codes]
        links.append((KIND_TAXONOMY, e.kind.value))
        for tax, code in links:
            tid = term_id(tax, code)
            self.add(
                "attribute",
                {
                    "id": derived_uuid("attribute", sid, tid),
                    "link_id": sid,
                    "taxonomy_term_id": tid,
                    "link_type": "category" if tax == CATEGORY_TAXONOMY else "kind",
                    "link_entity": "service",
                },
            )
            self.term(tax, code)

    def location(self, loc: Location, lid: str) -> None:
        self.add(
            "location",
            {
                "id": lid,
                "location_type": loc.location_type.value,
                "name": loc.name or None,
                "description": loc.description or None,
                "latitude": loc.latitude,
                "longitude": loc.longitude,
            },
            ("location", loc.id),
        )
        if loc.address is not None:
            a = loc.address
            self.add(
                "address",
                {
                    "id": derived_uuid("address", lid),
                    "location_id": lid,
                    "address_1": a.address_1,
                    "address_2": a.address_2,
                    "city": a.city,
                    "region": a.region,
                    "state_province": a.state_province or UNKNOWN_PROVINCE,
                    "postal_code": a.postal_code,
                    "country": a.country,
                    "address_type": "physical",
                },
            )
        for i, acc in enumerate(loc.accessibility):
            self.add(
                "accessibility",
                {
                    "id": derived_uuid("accessibility", lid, i),
                    "location_id": lid,
                    "description": acc.description or None,
                    "details": acc.code,
                },
            )

    def phone(
        self,
        p: Phone,
        entry_id: str,
        *,
        service_id: str | None = None,
        contact_id: str | None = None,
    ) -> None:
        row: Row = {
            "id": record_uuid("phone", p.id, entry_id),
            "service_id": service_id,
            "contact_id": contact_id,
            "number": p.number,
            "description": p.description or None,
        }
        twin = self.phones.get(row["id"])
        if twin is not None and all(twin[k] == row[k] for k in ("number", "description")):
            # one phone of both the service and its contact (as the official example has):
            # one row with both links, as HSDS writes it; the import reads it back as both
            twin["service_id"] = twin["service_id"] or service_id
            twin["contact_id"] = twin["contact_id"] or contact_id
            return
        self.phones[row["id"]] = self.add("phone", row, ("phone", p.id))

    def term(self, tax: str, code: str) -> None:
        tid = term_id(tax, code)
        if tid in self.terms:
            return
        if tax == KIND_TAXONOMY:
            row: Row = {
                "id": tid,
                "code": code,
                "name": code,
                "description": _KIND_DESCRIPTIONS.get(code, code),
                "taxonomy": tax,
                "language": "en",
            }
        else:
            cat = self.taxonomy.get(code)
            row = {
                "id": tid,
                "code": code,
                "name": cat.label_nl,
                "description": cat.label_en,
                "parent_id": term_id(tax, cat.parent) if cat.parent else None,
                "taxonomy": tax,
                "language": "nl",
            }
            for ancestor in self.taxonomy.ancestors(code):  # the tree complete in the package
                self.term(tax, ancestor)
        row["taxonomy_id"] = taxonomy_id(tax)
        self.terms[tid] = row

    def finish(self) -> Tables:
        self.t["taxonomy_term"] = sorted(self.terms.values(), key=lambda r: r["id"])
        used = {r["taxonomy"] for r in self.terms.values()}
        self.t["taxonomy"] = [
            {"id": taxonomy_id(name), **TAXONOMIES[name]} for name in sorted(used)
        ]
        return self.t


def to_tables(data: SocialMapData, taxonomy: Taxonomy) -> Tables:
    """Our model as HSDS tables, keyed by the spec's object names (values JSON-ready, amounts
    as Decimal; a row's `_metadata` holds its id entries, also in the `metadata` table)."""
    ex = _Exporter(taxonomy)
    for o in data.organizations:
        ex.organization(o)
    seen_locations: set[str] = set()
    for e in data.entries:
        ex.entry(e, seen_locations)
    return ex.finish()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def export_csv(data: SocialMapData, taxonomy: Taxonomy) -> dict[str, str]:
    """Every file of the HSDS tabular package (header only where we have nothing), by the
    spec's file names and columns. The descriptor (`datapackage.json`) is the service's."""
    out: dict[str, str] = {}
    for name, rows in to_tables(data, taxonomy).items():
        columns = BY_NAME[name].columns
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(k)) for k in columns])
        out[BY_NAME[name].path] = buf.getvalue()
    return out


def _obj(row: Row, **nested: Any) -> Row:
    """A JSON object: no nulls (the schemas allow none), no internal keys, our id entries
    as the object's `metadata`."""
    obj = {k: v for k, v in row.items() if v is not None and not k.startswith("_")}
    obj.update({k: v for k, v in nested.items() if v})
    if row.get("_metadata"):
        obj["metadata"] = row["_metadata"]
    return obj


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def export_json(data: SocialMapData, taxonomy: Taxonomy) -> str:
    """A JSON list of HSDS 3.0 service objects with everything nested."""
    t = to_tables(data, taxonomy)
    orgs = {r["id"]: r for r in t["organization"]}
    locs = {r["id"]: r for r in t["location"]}
    taxonomies = {r["id"]: _obj(r) for r in t["taxonomy"]}
    terms = {
        r["id"]: _obj(r, taxonomy_detail=taxonomies[r["taxonomy_id"]]) for r in t["taxonomy_term"]
    }

    def by(table: str, key: str) -> dict[Any, list[Row]]:
        out: dict[Any, list[Row]] = {}
        for r in t[table]:
            out.setdefault(r.get(key), []).append(r)
        return out

    addr, acc = by("address", "location_id"), by("accessibility", "location_id")
    sals, sch = by("service_at_location", "service_id"), by("schedule", "service_id")
    langs, costs = by("language", "service_id"), by("cost_option", "service_id")
    contacts, attrs = by("contact", "service_id"), by("attribute", "link_id")
    phones_svc, phones_ct = by("phone", "service_id"), by("phone", "contact_id")
    services = []
    for s in t["service"]:
        sid = s["id"]
        services.append(
            _obj(
                s,
                organization=_obj(orgs[s["organization_id"]])
                if s["organization_id"] in orgs
                else None,
                service_at_locations=[
                    _obj(
                        sal,
                        location=_obj(
                            locs[sal["location_id"]],
                            addresses=[_obj(a) for a in addr.get(sal["location_id"], [])],
                            accessibility=[_obj(a) for a in acc.get(sal["location_id"], [])],
                        ),
                    )
                    for sal in sals.get(sid, [])
                ],
                schedules=[_obj(x) for x in sch.get(sid, [])],
                languages=[_obj(x) for x in langs.get(sid, [])],
                cost_options=[_obj(x) for x in costs.get(sid, [])],
                phones=[_obj(x) for x in phones_svc.get(sid, [])],
                contacts=[
                    _obj(c, phones=[_obj(p) for p in phones_ct.get(c["id"], [])])
                    for c in contacts.get(sid, [])
                ],
                attributes=[
                    _obj(a, taxonomy_term=terms[a["taxonomy_term_id"]]) for a in attrs.get(sid, [])
                ],
            )
        )
    return json.dumps(services, ensure_ascii=False, indent=2, default=_json_number)
