"""HSDS 3.0 under the standard's own validators: our exports against the official compiled
schemas (jsonschema) and the official tabular package descriptor (frictionless); the official
examples through our import; ids, required fields and re-imports."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from social_map.domain.hsds_ids import is_uuid
from social_map.domain.hsds_interchange import (
    ImportResult,
    export_csv,
    export_json,
    import_csv,
    import_json,
    keep_stored_assurance,
)
from social_map.domain.hsds_tables import TABLES
from social_map.domain.model import (
    Contact,
    Cost,
    Entry,
    Language,
    Organization,
    Phone,
    Schedule,
    SocialMapData,
)
from social_map.domain.taxonomy import Taxonomy
from social_map.standards import hsds
from social_map_testkit import make_entry

OFFICIAL = Path(str(hsds.root()))


def _ours() -> SocialMapData:
    """Our own ids (not UUIDs), an organisation without description, an address without
    province, a paid offer with cents, a daily rule, an assurer that is a staff member's id."""
    walk = make_entry(
        "walk-1",
        "Wandelgroep",
        contacts=[Contact(id="ct-1", name="Balie", phones=[Phone(id="ph-1", number="0800-1")])],
        phones=[Phone(id="ph-2", number="0800-2")],
        languages=[Language(code="nl", name="Nederlands")],
        cost=Cost(free=False, amount=Decimal("2.50"), description="per keer"),
        assured_by="p-0192",
    )
    daily = make_entry(
        "daily-1",
        "Inloop",
        schedules=[
            Schedule(
                id="sch-1",
                rrule="FREQ=DAILY;INTERVAL=2",
                dtstart=date(2025, 1, 6),
                opens_at=time(9),
                closes_at=time(12),
            )
        ],
    )
    return SocialMapData(
        organizations=[Organization(id="org-1", name="Buurtkracht")], entries=[walk, daily]
    )


def _as_in_hsds(e: Entry) -> Entry:
    assert e.assured_at is not None
    return e.model_copy(
        update={
            "assured_at": datetime.combine(e.assured_at.date(), time(0), UTC),
            "assured_by": e.assured_by if e.assured_by and "@" in e.assured_by else None,
        }
    )


def test_the_table_layout_is_the_official_descriptor() -> None:
    descriptor = json.loads(hsds.datapackage_descriptor())
    assert [(t.name, t.path, list(t.columns)) for t in TABLES] == [
        (r["name"], r["path"], [f["name"] for f in r["schema"]["fields"]])
        for r in descriptor["resources"]
    ]


def test_json_export_validates_against_the_official_schemas(
    demo: SocialMapData, taxonomy: Taxonomy
) -> None:
    seen: set[str] = set()
    for data in (demo, _ours()):
        services = json.loads(export_json(data, taxonomy))
        assert hsds.json_problems(services, seen) == []
        assert len(services) == len(data.entries)
    # every object we write was checked against its own definition
    assert seen >= {
        "organization",
        "service_at_location",
        "location",
        "address",
        "accessibility",
        "schedule",
        "language",
        "cost_option",
        "contact",
        "phone",
        "attribute",
        "taxonomy_term",
        "taxonomy",
        "metadata",
    }


def test_the_validator_refuses_what_the_old_export_wrote(taxonomy: Taxonomy) -> None:
    [svc, _] = json.loads(export_json(_ours(), taxonomy))
    svc["id"] = "walk-1"
    svc["cost_options"][0]["amount"] = "2.50"
    del svc["service_at_locations"][0]["location"]["addresses"][0]["state_province"]
    del svc["attributes"][0]["taxonomy_term"]["description"]
    svc["alternate_name"] = None
    problems = "\n".join(hsds.json_problems([svc]))
    for expected in (
        "'walk-1' is not a 'uuid'",
        "'2.50' is not of type 'number'",
        "'state_province' is a required property",
        "'description' is a required property",
        "None is not of type 'string'",
    ):
        assert expected in problems


def test_ids_are_stable_uuids_and_our_ids_come_back(taxonomy: Taxonomy) -> None:
    data = _ours()
    first = export_json(data, taxonomy)
    assert export_json(data, taxonomy) == first  # re-export: the same UUIDs
    walk = json.loads(first)[0]
    assert is_uuid(walk["id"]) and is_uuid(walk["organization_id"])
    assert walk["metadata"][0]["previous_value"] == "walk-1"
    assert walk["organization"]["description"] == "Buurtkracht"  # required: the name
    address = walk["service_at_locations"][0]["location"]["addresses"][0]
    assert address["state_province"] == "onbekend"
    assert walk["cost_options"][0]["amount"] == 2.5
    assert "assurer_email" not in walk  # a staff member's id is not an e-mail address
    daily = json.loads(first)[1]["schedules"][0]
    assert "freq" not in daily and daily["notes"] == "RRULE:FREQ=DAILY;INTERVAL=2"
    # UUIDs of our own stay as they are
    demo_like = make_entry("6f0c0f59-4c43-4bb8-9d9c-6b9c1f2a0c11")
    [svc] = json.loads(export_json(SocialMapData(entries=[demo_like]), taxonomy))
    assert svc["id"] == demo_like.id and "metadata" not in svc
    # and both formats give our ids (and everything else) back
    # (HSDS keeps the date of the last check and only an e-mail address as the assurer)
    again = import_json(first, tenant="demo", taxonomy=taxonomy).data
    expected = data.model_copy(update={"entries": [_as_in_hsds(e) for e in data.entries]})
    assert again == expected
    via_csv = import_csv(export_csv(data, taxonomy), tenant="demo", taxonomy=taxonomy).data
    assert via_csv == expected


def test_tabular_package_validates_with_frictionless(
    demo: SocialMapData, taxonomy: Taxonomy, tmp_path: Path
) -> None:
    data = SocialMapData(
        organizations=[*demo.organizations, *_ours().organizations],
        entries=[*demo.entries, *_ours().entries],
    )
    files = export_csv(data, taxonomy)
    assert set(files) == {t.path for t in TABLES}  # every file of the spec, its names
    assert "service_at_location.csv" in files and "service_at_locations.csv" not in files
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / hsds.DESCRIPTOR).write_bytes(hsds.datapackage_descriptor())
    assert hsds.package_problems(tmp_path) == []
    # the validator bites: a non-UUID id, a duplicate primary key, a text amount
    services = files["services.csv"].splitlines()
    (tmp_path / "services.csv").write_text(
        "\n".join([*services, services[1], "svc-1" + services[1][36:]]) + "\n", encoding="utf-8"
    )
    (tmp_path / "cost_options.csv").write_text(
        files["cost_options.csv"].replace(",2.50,", ",twee,"), encoding="utf-8"
    )
    problems = "\n".join(hsds.package_problems(tmp_path))
    assert 'cell "svc-1"' in problems and 'type is "string/uuid"' in problems
    assert "service: primary-key" in problems
    assert 'cell "twee"' in problems and 'type is "number/default"' in problems


def _official_example() -> str:
    return (OFFICIAL / "examples" / "service_full.json").read_text()


def _official_package() -> dict[str, str]:
    return {p.name: p.read_text() for p in (OFFICIAL / "examples" / "csv").glob("*.csv")}


def test_official_examples_are_valid_hsds() -> None:
    doc = json.loads(_official_example())
    assert hsds.json_problems([doc]) == []


@pytest.mark.parametrize("form", ["json", "csv"])
def test_official_examples_import_unchanged(form: str, taxonomy: Taxonomy, tmp_path: Path) -> None:
    def load(*, strict: bool) -> ImportResult:
        if form == "json":
            return import_json(_official_example(), tenant="demo", taxonomy=taxonomy, strict=strict)
        return import_csv(_official_package(), tenant="demo", taxonomy=taxonomy, strict=strict)

    # as published: every file and field is understood; the placeholder coordinates
    # (latitude 100, off the globe) are dropped with a warning, the location kept; the
    # schedule's count and until (RFC 5545 allows one) keep the end date, with a warning
    result = load(strict=False)
    assert result.issues == [] and result.data is not None
    warned = {w.field.rsplit(".", 1)[-1]: w.message for w in result.warnings}
    assert len(result.warnings) == 2 and warned["latitude"] == (
        "Breedtegraad 100 ligt buiten -90..90: de locatie is zonder coördinaten "
        "geïmporteerd. / Latitude 100 is outside -90..90: the location was imported "
        "without coordinates."
    )
    assert warned["count"] == (
        "Herhaling: 'count' (3) en 'until' (2005-01-01) samen kan niet in iCalendar; 'count' "
        "is weggelaten, de herhaling stopt op 2005-01-01. / Recurrence: 'count' (3) and "
        "'until' (2005-01-01) together are not allowed in iCalendar; 'count' was dropped, the "
        "recurrence ends on 2005-01-01."
    )
    expected_path = "service_at_locations[0].location.latitude" if form == "json" else "latitude"
    assert expected_path in {w.field for w in result.warnings}
    [org] = result.data.organizations
    [entry] = result.data.entries
    assert org.id == "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610" and org.name.startswith("Example")
    assert entry.id == "ac148810-d857-441c-9679-408f346de14b"
    assert entry.name == "Community Counselling" and entry.eligibility.minimum_age == 12
    assert entry.cost.amount == 35 and entry.cost.currency == "GBP"
    assert entry.assured_at == datetime(2005, 1, 1, tzinfo=UTC)
    [schedule] = entry.schedules  # nested twice in the JSON example: one schedule
    assert schedule.service_at_location_id == entry.service_at_locations[0].id
    assert schedule.opens_at == time(10) and "BYDAY=TH,FR" in (schedule.rrule or "")
    assert "UNTIL=20050101" in (schedule.rrule or "") and "COUNT" not in (schedule.rrule or "")
    [location] = entry.locations
    assert (location.latitude, location.longitude) == (None, None)  # off the globe: not kept
    assert location.name == "MyCity Civic Center"
    [feature] = location.accessibility
    assert feature.code == "other" and "induction loops" in feature.description
    assert entry.contacts[0].name == "Ann Persona" and entry.languages[0].code == "ur"
    # what we keep exports as valid HSDS again (a location without coordinates is allowed)
    assert hsds.json_problems(json.loads(export_json(result.data, taxonomy))) == []
    files = export_csv(result.data, taxonomy)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / hsds.DESCRIPTOR).write_bytes(hsds.datapackage_descriptor())
    assert hsds.package_problems(tmp_path) == []  # its phone of service and contact: one row
    assert import_csv(files, tenant="demo", taxonomy=taxonomy).data == result.data
    # strict: the same file is refused with the path of the value, nothing imported
    refused = load(strict=True)
    assert refused.data is None
    refusals = {i.field.rsplit(".", 1)[-1]: (i.field, i.message) for i in refused.issues}
    assert len(refused.issues) == 2
    assert refusals["latitude"] == (expected_path, "Input should be less than or equal to 90")
    assert refusals["count"][1] == (
        "count and until together: iCalendar (RFC 5545) allows one of them"
    )


def test_a_reimport_of_the_same_date_keeps_the_stored_check() -> None:
    stored = make_entry(assured_at=datetime(2025, 3, 3, 11, 12, 13, tzinfo=UTC), assured_by="p-9")
    same_day = stored.model_copy(
        update={"assured_at": datetime(2025, 3, 3, tzinfo=UTC), "assured_by": None}
    )
    kept = keep_stored_assurance(stored, same_day)
    assert kept.assured_at == stored.assured_at and kept.assured_by == "p-9"
    newer = stored.model_copy(update={"assured_at": datetime(2025, 4, 1, tzinfo=UTC)})
    assert keep_stored_assurance(stored, newer) == newer
    by_mail = same_day.model_copy(update={"assured_by": "beheer@example.nl"})
    assert keep_stored_assurance(stored, by_mail).assured_by == "beheer@example.nl"
    never: Entry = stored.model_copy(update={"assured_at": None})
    assert keep_stored_assurance(never, same_day) == same_day
