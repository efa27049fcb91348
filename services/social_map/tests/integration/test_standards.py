"""What the running service answers, checked by the standards' own validators: the HSDS 3.0
export (official compiled schemas with jsonschema, the tabular package with frictionless), the
official examples through the import endpoint, re-imports of an unchanged export, and the
iCalendar feed (icalendar + dateutil)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import PREFIX, Api
from dateutil.rrule import rrulestr
from helpers import IDENTITY_DEMO_TABLE, demo_hsds_json, entry, eventually
from icalendar import Calendar
from social_map.demo.generator import demo_map
from social_map.service.interchange import write_import
from social_map.standards import hsds
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import NeighbourhoodsImported
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
ZIP = {"Content-Type": "application/zip"}
OFFICIAL = Path(str(hsds.root())) / "examples"


def _manager(api: Api, tenant: str) -> dict[str, str]:
    return api.headers(tenant, sub="p-m", gemeente_demo=["neighbourhood_manager"])


async def _import(
    api: Api, tenant: str, body: bytes, kind: dict[str, str], *, strict: bool = False
) -> dict[str, object]:
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=body,
        headers={**_manager(api, tenant), **kind},
        params={"strict": "true"} if strict else {},
    )
    assert r.status_code in (201, 422), r.text[:300]
    return {"status": r.status_code, **r.json()}


async def _export(api: Api, tenant: str, fmt: str) -> bytes:
    r = await api.client.get(
        f"{PREFIX}/exports/hsds", params={"format": fmt}, headers=_manager(api, tenant)
    )
    assert r.status_code == 200
    return r.content


def _files(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


async def test_the_export_passes_the_official_validators(
    api: Api, two_tenants: TwoTenants, tmp_path: Path
) -> None:
    t = two_tenants.a
    imported = await _import(api, t, demo_hsds_json(t, api.clock()), JSON)
    assert imported["created"] == 373
    services = json.loads(await _export(api, t, "json"))
    assert len(services) == 373
    assert hsds.json_problems(services) == []
    package = _files(await _export(api, t, "csv"))
    assert package[hsds.DESCRIPTOR] == hsds.datapackage_descriptor()  # the official descriptor
    assert "service_at_location.csv" in package and "service_at_locations.csv" not in package
    for name, content in package.items():
        (tmp_path / name).write_bytes(content)
    assert hsds.package_problems(tmp_path) == []


async def _seed_as_make_run(api: Api, tenant: str) -> None:
    """The demo map as `make run` seeds it (last checks at all times of day, e-mail
    assurers) plus an entry published through the API (our own ids such as "loc-1", a staff
    member's id as assurer)."""
    data = demo_map(reference=api.clock())
    entries = [e.model_copy(update={"tenant": tenant}) for e in data.entries]
    ctx = api.app.state.ctx
    await write_import(ctx, tenant, data.model_copy(update={"entries": entries}), actor="test")
    admin = api.headers(tenant, sub="p-admin", org_a=["org_admin"])
    r = await api.client.post(f"{PREFIX}/entries", json=entry(), headers=admin)
    assert r.status_code == 201


@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_an_unchanged_export_imports_back_as_unchanged(
    fmt: str, api: Api, two_tenants: TwoTenants
) -> None:
    """HSDS keeps only the date of the last check and only e-mail addresses as assurers."""
    t = two_tenants.a
    await _seed_as_make_run(api, t)
    checked = (await api.client.get(f"{PREFIX}/freshness", headers=_manager(api, t))).json()
    exported = await _export(api, t, fmt)
    again = await _import(api, t, exported, ZIP if fmt == "csv" else JSON)
    assert again == {
        "status": 201,
        "organisations": 12,
        "created": 0,
        "updated": 0,
        "unchanged": 374,
        "warnings": [],
        "warning_count": 0,
    }
    again_exported = await _export(api, t, fmt)
    if fmt == "csv":
        assert _files(again_exported) == _files(exported)
    else:
        assert again_exported == exported
    after = (await api.client.get(f"{PREFIX}/freshness", headers=_manager(api, t))).json()
    assert after == checked  # the stored checks (their times) are kept


async def test_the_official_examples_import_unchanged(
    api: Api, two_tenants: TwoTenants, tmp_path: Path
) -> None:
    """`service_full.json` and the official CSV package as published: imported, the
    placeholder coordinates (latitude 100, off the globe) dropped with a warning that names
    the value; `strict` refuses them and imports nothing; the re-export validates."""
    example = (OFFICIAL / "service_full.json").read_bytes()
    package = {p.name: p.read_bytes() for p in (OFFICIAL / "csv").glob("*.csv")}
    package[hsds.DESCRIPTOR] = hsds.datapackage_descriptor()
    for tenant, body, kind, path in (
        (two_tenants.a, example, JSON, "service_at_locations[0].location.latitude"),
        (two_tenants.b, _zip(package), ZIP, "latitude"),
    ):
        refused = await _import(api, tenant, body, kind, strict=True)
        assert refused["status"] == 422
        errors = {e["field"]: e["message"] for e in refused["errors"]}  # type: ignore[attr-defined]
        assert errors.pop(path) == "Input should be less than or equal to 90"
        # the schedule's count and until together (RFC 5545 allows one of them)
        [(count_path, message)] = errors.items()
        assert count_path.endswith("count") and "RFC 5545" in message
        assert json.loads(await _export(api, tenant, "json")) == []  # nothing imported
        done = await _import(api, tenant, body, kind)
        warnings = {w["field"]: w for w in done.pop("warnings")}  # type: ignore[attr-defined]
        assert done == {
            "status": 201,
            "organisations": 1,
            "created": 1,
            "updated": 0,
            "unchanged": 0,
            "warning_count": 2,
        }
        warning = warnings[path]
        assert warning["code"] == "dropped"
        assert warning["message"].startswith("Breedtegraad 100 ligt buiten -90..90")
        assert "Latitude 100 is outside -90..90" in warning["message"]
        assert "'count' was dropped" in warnings[count_path]["message"]
        r = await api.client.get(
            f"{PREFIX}/entries/ac148810-d857-441c-9679-408f346de14b", headers=_manager(api, tenant)
        )
        assert r.status_code == 200 and r.json()["entry"]["name"] == "Community Counselling"
        [sal] = r.json()["entry"]["service_at_locations"]
        assert sal["location"]["latitude"] is None and sal["location"]["longitude"] is None
        # the re-export of what was kept passes the official validators, in both forms
        services = json.loads(await _export(api, tenant, "json"))
        assert hsds.json_problems(services) == []
        [location] = [s["location"] for s in services[0]["service_at_locations"]]
        assert "latitude" not in location or location["latitude"] is None
        out = tmp_path / tenant
        out.mkdir()
        for name, content in _files(await _export(api, tenant, "csv")).items():
            (out / name).write_bytes(content)
        assert hsds.package_problems(out) == []


async def test_the_calendar_feed_reads_back_in_a_real_parser(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await _import(api, t, demo_hsds_json(t, api.clock()), JSON)
    await api.publish(
        new_event(NeighbourhoodsImported(neighbourhoods=IDENTITY_DEMO_TABLE), tenant=t, subject=t)
    )
    partner = api.issuer.headers(sub="client:partner", tenant=t)  # a machine client may read it

    async def feed() -> bool:
        r = await api.client.get(f"{PREFIX}/neighbourhoods/DM01/activities.ics", headers=partner)
        return r.status_code == 200

    await eventually(feed)
    r = await api.client.get(f"{PREFIX}/neighbourhoods/DM01/activities.ics", headers=partner)
    cal = Calendar.from_ical(r.text)
    assert [str(z["tzid"]) for z in cal.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
    events = cal.walk("VEVENT")
    assert len(events) > 10
    for ev in events:
        start = ev.decoded("dtstart")
        assert rrulestr(ev["rrule"].to_ical().decode(), dtstart=start)[0] == start
