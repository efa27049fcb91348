from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from conftest import PREFIX, Api
from helpers import demo_hsds_json, entry
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
ZIP = {"Content-Type": "application/zip"}


def _manager(api: Api, tenant: str) -> dict[str, str]:
    return api.headers(tenant, sub="p-m", gemeente_demo=["neighbourhood_manager"])


async def _export(api: Api, tenant: str, fmt: str) -> bytes:
    r = await api.client.get(
        f"{PREFIX}/exports/hsds", params={"format": fmt}, headers=_manager(api, tenant)
    )
    assert r.status_code == 200
    return r.content


def _files(raw: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return {n: archive.read(n).decode() for n in archive.namelist()}


def _off_the_globe(services: list[dict[str, Any]], index: int) -> tuple[int, str]:
    """Put the first location of services[index] at latitude 123.4, in every service that
    shares it (JSON repeats a shared location); returns the line and path of its first
    occurrence (where the import reports it)."""
    location_id = services[index]["service_at_locations"][0]["location"]["id"]
    found: list[tuple[int, str]] = []
    for n, svc in enumerate(services, start=1):
        for j, sal in enumerate(svc["service_at_locations"]):
            if sal["location"]["id"] == location_id:
                sal["location"]["latitude"] = 123.4
                found.append((n, f"service_at_locations[{j}].location.latitude"))
    return found[0]


async def test_json_round_trip_without_loss(api: Api, two_tenants: TwoTenants) -> None:
    a, b = two_tenants.a, two_tenants.b
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=demo_hsds_json(a, api.clock()),
        headers={**_manager(api, a), **JSON},
    )
    assert r.status_code == 201 and r.json()["created"] == 373
    exported = await _export(api, a, "json")
    r = await api.client.post(
        f"{PREFIX}/imports", content=exported, headers={**_manager(api, b), **JSON}
    )
    assert r.json()["created"] == 373
    assert json.loads(await _export(api, b, "json")) == json.loads(exported)
    # importing the same file again changes nothing (idempotent)
    r = await api.client.post(
        f"{PREFIX}/imports", content=exported, headers={**_manager(api, b), **JSON}
    )
    assert r.json() == {
        "organisations": 11,
        "created": 0,
        "updated": 0,
        "unchanged": 373,
        "warnings": [],
        "warning_count": 0,
    }
    # one `entries_imported` event per stored batch, naming every new entry once; an
    # import that changed nothing publishes nothing
    db = await api.app.state.ctx.db(b)
    staged = (
        await db["outbox"].find({"subject": f"wk.{b}.social_map.entries_imported.v1"}).to_list(None)
    )
    published = [i for doc in staged for i in json.loads(doc["payload"])["data"]["published"]]
    assert len(published) == len(set(published)) == 373
    assert (
        await db["outbox"].count_documents({"subject": f"wk.{b}.social_map.entry_published.v1"})
        == 0
    )


async def test_csv_round_trip_without_loss(api: Api, two_tenants: TwoTenants) -> None:
    a, b = two_tenants.a, two_tenants.b
    await api.client.post(
        f"{PREFIX}/imports",
        content=demo_hsds_json(a, api.clock()),
        headers={**_manager(api, a), **JSON},
    )
    package = await _export(api, a, "csv")
    assert "services.csv" in _files(package) and "schedules.csv" in _files(package)
    r = await api.client.post(
        f"{PREFIX}/imports", content=package, headers={**_manager(api, b), **ZIP}
    )
    assert r.status_code == 201 and r.json()["created"] == 373
    assert _files(await _export(api, b, "csv")) == _files(package)


async def test_a_bad_file_imports_nothing(api: Api, two_tenants: TwoTenants) -> None:
    a = two_tenants.a
    services = json.loads(demo_hsds_json(a, api.clock()))
    line, _ = _off_the_globe(services, 4)
    services[9]["schedules"][0]["freq"] = "HOURLY"
    for strict, refused_lines in ((True, {line, 10}), (False, {10})):
        r = await api.client.post(
            f"{PREFIX}/imports",
            content=json.dumps(services).encode(),
            headers={**_manager(api, a), **JSON},
            params={"strict": str(strict).lower()},
        )
        assert r.status_code == 422, r.text[:300]
        body = r.json()
        # strict: the coordinates are an error too; else only the rule refuses the file
        assert {e["line"] for e in body["errors"]} == refused_lines
        assert {e["file"] for e in body["errors"]} == {"services.json"}
        assert (await _export(api, a, "json")) == b"[]"
    r = await api.client.post(
        f"{PREFIX}/imports", content=b"{broken", headers={**_manager(api, a), **JSON}
    )
    assert r.status_code == 422
    r = await api.client.post(
        f"{PREFIX}/imports", content=b"PK-not-a-zip", headers={**_manager(api, a), **ZIP}
    )
    assert r.status_code == 422


async def test_out_of_range_coordinates_are_never_stored(api: Api, two_tenants: TwoTenants) -> None:
    """An import keeps the entry and drops the value (a warning with its path); the API
    refuses it (422)."""
    a = two_tenants.a
    services = json.loads(demo_hsds_json(a, api.clock()))
    line, path = _off_the_globe(services, 4)
    location_id = services[4]["service_at_locations"][0]["location"]["id"]
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=json.dumps(services).encode(),
        headers={**_manager(api, a), **JSON},
    )
    assert r.status_code == 201, r.text[:300]
    report = r.json()
    assert report["created"] == len(services) and report["warning_count"] >= 1
    assert [(w["file"], w["line"], w["field"], w["code"]) for w in report["warnings"]] == [
        ("services.json", line, path, "dropped")
    ]
    exported = json.loads(await _export(api, a, "json"))
    kept = [
        s["location"]
        for svc in exported
        for s in svc["service_at_locations"]
        if s["location"]["id"] == location_id
    ]
    assert kept and all(loc.get("latitude") is None for loc in kept)
    assert not any(
        abs(s["location"].get("latitude") or 0) > 90
        for svc in exported
        for s in svc["service_at_locations"]
    )
    admin = api.headers(a, org_a=["org_admin"])
    bad = entry()
    bad["service_at_locations"] = [
        {"id": "s", "location": {"id": "l", "latitude": 123.4, "longitude": 4.8}}
    ]
    r = await api.client.post(f"{PREFIX}/entries", json=bad, headers=admin)
    assert r.status_code == 422
    assert any("latitude" in e["field"] for e in r.json()["errors"])


async def test_only_the_neighbourhood_manager_imports_and_exports(
    api: Api, two_tenants: TwoTenants
) -> None:
    admin = api.headers(two_tenants.a, org_a=["org_admin"])
    r = await api.client.post(f"{PREFIX}/imports", content=b"[]", headers={**admin, **JSON})
    assert r.status_code == 403
    r = await api.client.get(f"{PREFIX}/exports/hsds", headers=admin)
    assert r.status_code == 403
