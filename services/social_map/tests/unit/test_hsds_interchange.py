from __future__ import annotations

import json

from social_map.domain.hsds_interchange import export_csv, export_json, import_csv, import_json
from social_map.domain.hsds_rrule import columns_to_rrule, rrule_to_columns
from social_map.domain.model import SocialMapData
from social_map.domain.taxonomy import Taxonomy

ORGS = (
    "id,name,legal_status\n"
    "org-1,Stichting Buurtkracht,organisation\n"
    "org-2,De Stappers,residents_initiative\n"
)
SERVICES = (
    "id,organization_id,name,description,status,minimum_age,assured_date,assurer_email\n"
    "svc-1,org-2,Wandelgroep De Stappers,Elke dinsdag wandelen,active,55,2025-01-10,"
    "info@stappers.example\n"
    "svc-2,org-1,Schuldhulpmaatje,Hulp bij schulden,active,,,\n"
)
LOCATIONS = "id,name,latitude,longitude\nloc-1,Parkpaviljoen,52.4715,4.853\n"
ADDRESSES = (
    "id,location_id,address_1,city,postal_code,country\n"
    "adr-1,loc-1,Lindelaan 12,Kustdorp,9903AB,NL\n"
)
SAL = "id,service_id,location_id\nsal-1,svc-1,loc-1\nsal-2,svc-2,loc-1\n"
SCHEDULES = (
    "id,service_id,dtstart,freq,byday,opens_at,closes_at,until\n"
    "sch-1,svc-1,2025-01-07,WEEKLY,TU,10:00,11:30,\n"
    "sch-2,svc-2,2025-01-06,MONTHLY,+1MO,09:00,12:00,2025-12-31\n"
)
TERMS = (
    "id,code,name,taxonomy\nt-walk,wandelen,Wandelen,wijkkracht\nt-debt,schulden,Schuldhulp,wijkkracht\n"
    "t-act,activity,activity,wijkkracht-kind\nt-x,123,Something,open-eligibility\n"
)
ATTRS = (
    "id,link_id,taxonomy_term_id,link_entity\na1,svc-1,t-walk,service\na2,svc-1,t-act,service\n"
    "a3,svc-2,t-debt,service\na4,svc-2,t-x,service\n"
)
COSTS = (
    "id,service_id,amount,currency,amount_description\n"
    "c1,svc-1,0,EUR,\nc2,svc-2,2.50,EUR,per gesprek\n"
)


def _package(**over: str) -> dict[str, str]:
    files = {
        "organizations.csv": ORGS,
        "services.csv": SERVICES,
        "locations.csv": LOCATIONS,
        "addresses.csv": ADDRESSES,
        "service_at_locations.csv": SAL,
        "schedules.csv": SCHEDULES,
        "taxonomy_terms.csv": TERMS,
        "attributes.csv": ATTRS,
        "cost_options.csv": COSTS,
        "languages.csv": "id,service_id,name,code\nl1,svc-1,Nederlands,nl\n",
        "accessibility.csv": (
            "id,location_id,description,details\nx1,loc-1,Verhard pad,wheelchair\n"
        ),
        "contacts.csv": "id,service_id,name\nct1,svc-2,Servicepunt\n",
        "phones.csv": "id,contact_id,service_id,number\np1,ct1,,0800-1234567\n",
    }
    files.update(over)
    return {k: v for k, v in files.items() if v != "-"}


def test_csv_import_maps_to_our_model(taxonomy: Taxonomy) -> None:
    result = import_csv(_package(), tenant="demo", taxonomy=taxonomy)
    assert result.ok, result.issues
    assert result.data is not None
    walk, debt = result.data.entries
    assert walk.kind == "activity" and walk.category_codes == ["wandelen"]
    assert walk.schedules[0].rrule == "FREQ=WEEKLY;BYDAY=TU"
    assert walk.cost.free and walk.eligibility.minimum_age == 55
    assert walk.assured_at is not None and walk.assured_at.date().isoformat() == "2025-01-10"
    assert (
        walk.locations[0].address is not None and walk.locations[0].address.postal_code == "9903 AB"
    )
    assert walk.locations[0].accessibility[0].code == "wheelchair"
    assert debt.kind == "service" and debt.assured_at is None
    assert not debt.cost.free and str(debt.cost.amount) == "2.50"
    assert debt.schedules[0].rrule == "FREQ=MONTHLY;UNTIL=20251231T000000;BYDAY=+1MO"
    assert debt.contacts[0].phones[0].number == "0800-1234567"
    assert [o.kind for o in result.data.organizations] == ["organisation", "residents_initiative"]


def _roundtrip_equal(data: SocialMapData, taxonomy: Taxonomy) -> None:
    again = import_csv(export_csv(data, taxonomy), tenant="demo", taxonomy=taxonomy)
    assert again.data == data, again.issues
    via_json = import_json(export_json(data, taxonomy), tenant="demo", taxonomy=taxonomy)
    assert via_json.data == data, via_json.issues


def test_round_trip_small_package(taxonomy: Taxonomy) -> None:
    first = import_csv(_package(), tenant="demo", taxonomy=taxonomy)
    assert first.data is not None
    _roundtrip_equal(first.data, taxonomy)


def test_round_trip_demo_map(demo: SocialMapData, taxonomy: Taxonomy) -> None:
    first = import_json(export_json(demo, taxonomy), tenant="demo", taxonomy=taxonomy)
    assert first.data is not None, first.issues[:5]
    assert len(first.data.entries) == len(demo.entries)
    _roundtrip_equal(first.data, taxonomy)


def test_json_export_is_nested_hsds(taxonomy: Taxonomy) -> None:
    data = import_csv(_package(), tenant="demo", taxonomy=taxonomy).data
    assert data is not None
    services = json.loads(export_json(data, taxonomy))
    svc = services[0]
    assert svc["organization"]["name"] == "De Stappers"
    assert svc["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "9903 AB"
    assert svc["schedules"][0]["freq"] == "WEEKLY" and svc["schedules"][0]["byday"] == "TU"
    assert svc["assured_date"] == "2025-01-10"
    assert {a["taxonomy_term"]["code"] for a in svc["attributes"]} == {"wandelen", "activity"}


def test_errors_are_reported_per_line_and_field_and_nothing_is_imported(taxonomy: Taxonomy) -> None:
    bad = _package(
        **{
            "locations.csv": (
                "id,name,latitude,longitude\nloc-1,Park,52.47,4.85\nloc-2,Zee,95,4.85\n"
            ),
            "schedules.csv": "id,service_id,dtstart,freq,byday\nsch-1,svc-1,2025-01-07,WEEKLY,XX\n",
            "services.csv": SERVICES + "svc-3,org-9,Kaart,,active,,,\n",
            "taxonomy_terms.csv": TERMS.replace("schulden,Schuldhulp", "paardrijden,Paard"),
        }
    )
    result = import_csv(bad, tenant="demo", taxonomy=taxonomy, strict=True)
    assert result.data is None and not result.ok
    got = {(i.file, i.line, i.field) for i in result.issues}
    assert ("locations.csv", 3, "latitude") in got
    assert ("schedules.csv", 2, "freq") in got
    assert ("services.csv", 4, "organization_id") in got
    assert ("taxonomy_terms.csv", 3, "code") in got


def test_unusable_coordinates_are_dropped_with_a_warning_unless_strict(
    taxonomy: Taxonomy,
) -> None:
    """The record stays, its location without coordinates (not on the map); an
    out-of-range value is never stored. `strict` refuses instead."""
    for row, bad in (
        ("loc-1,Park,95,4.85", ["latitude"]),
        ("loc-1,Park,52.47,-181", ["longitude"]),
        ("loc-1,Park,noord,oost", ["latitude", "longitude"]),
        ("loc-1,Park,52.47,", ["longitude"]),
    ):
        files = _package(**{"locations.csv": f"id,name,latitude,longitude\n{row}\n"})
        lenient = import_csv(files, tenant="demo", taxonomy=taxonomy)
        assert lenient.issues == [] and lenient.data is not None, lenient.issues
        assert [(w.file, w.line, w.field) for w in lenient.warnings] == [
            ("locations.csv", 2, f) for f in bad
        ]
        assert all(
            "zonder coördinaten" in w.message and "without coordinates" in w.message
            for w in lenient.warnings
        )
        for entry in lenient.data.entries:
            [loc] = entry.locations
            assert (loc.latitude, loc.longitude) == (None, None) and loc.name == "Park"
        strict = import_csv(files, tenant="demo", taxonomy=taxonomy, strict=True)
        assert strict.data is None
        assert {(i.file, i.line) for i in strict.issues} == {("locations.csv", 2)}
    # dropping coordinates never hides another error: the file is still refused
    files = _package(
        **{
            "locations.csv": "id,name,latitude,longitude\nloc-1,Park,95,4.85\n",
            "schedules.csv": "id,service_id,dtstart,freq,byday\nsch-1,svc-1,2025-01-07,WEEKLY,XX\n",
        }
    )
    refused = import_csv(files, tenant="demo", taxonomy=taxonomy)
    assert refused.data is None
    assert [(i.file, i.field) for i in refused.issues] == [("schedules.csv", "freq")]
    # the JSON form names the nested path
    services = json.loads(
        export_json(import_csv(_package(), tenant="demo", taxonomy=taxonomy).data, taxonomy)
    )  # type: ignore[arg-type]
    services[1]["service_at_locations"][0]["location"]["latitude"] = 100
    services[0]["service_at_locations"][0]["location"]["latitude"] = 100  # the same location
    again = import_json(json.dumps(services), tenant="demo", taxonomy=taxonomy)
    assert again.data is not None
    assert [(w.file, w.line, w.field) for w in again.warnings] == [
        ("services.json", 1, "service_at_locations[0].location.latitude")
    ]


def test_missing_files_unknown_files_and_broken_references(taxonomy: Taxonomy) -> None:
    r = import_csv(
        _package(**{"services.csv": "-", "extra.csv": "id\n1\n"}), tenant="demo", taxonomy=taxonomy
    )
    assert {(i.file, i.message) for i in r.issues} >= {
        ("services.csv", "required file missing"),
        ("extra.csv", "unknown file in HSDS package"),
    }
    r = import_csv(
        _package(**{"service_at_locations.csv": "id,service_id,location_id\ns,svc-1,nope\n"}),
        tenant="demo",
        taxonomy=taxonomy,
    )
    assert [(i.file, i.line, i.field) for i in r.issues] == [
        ("service_at_locations.csv", 2, "location_id")
    ]


def test_json_errors_point_into_the_nested_object(taxonomy: Taxonomy) -> None:
    assert (
        import_json("{not json", tenant="demo", taxonomy=taxonomy)
        .issues[0]
        .message.startswith("invalid JSON")
    )
    assert (
        import_json('{"a": 1}', tenant="demo", taxonomy=taxonomy).issues[0].message
        == "expected a list of services"
    )
    doc = [
        {
            "id": "s1",
            "name": "X",
            "organization": {"id": "o1", "name": "O"},
            "service_at_locations": [
                {"id": "sal", "location": {"id": "l1", "latitude": 52, "longitude": 200}}
            ],
        }
    ]
    r = import_json(json.dumps(doc), tenant="demo", taxonomy=taxonomy, strict=True)
    assert [(i.line, i.field) for i in r.issues] == [
        (1, "service_at_locations[0].location.longitude")
    ]


def test_rrule_columns_round_trip() -> None:
    for rule in [
        "FREQ=WEEKLY;BYDAY=TU",
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=+1TH",
        "FREQ=WEEKLY;BYMONTH=1,2;BYDAY=MO",
    ]:
        assert columns_to_rrule(rrule_to_columns(rule)) == rule
    assert rrule_to_columns("FREQ=WEEKLY;BYMONTH=1,2;BYDAY=MO")["notes"].startswith("RRULE:")
    assert columns_to_rrule(rrule_to_columns(None)) is None
