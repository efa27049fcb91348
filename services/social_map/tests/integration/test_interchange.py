from __future__ import annotations

import io
import json
import zipfile

import pytest
from conftest import PREFIX, Api
from helpers import demo_hsds_json
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
    assert r.json() == {"organisations": 11, "created": 0, "updated": 0, "unchanged": 373}
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
    services[4]["service_at_locations"][0]["location"]["latitude"] = 123.4
    services[9]["schedules"][0]["freq"] = "HOURLY"
    r = await api.client.post(
        f"{PREFIX}/imports",
        content=json.dumps(services).encode(),
        headers={**_manager(api, a), **JSON},
    )
    assert r.status_code == 422, r.text[:300]
    body = r.json()
    lines = {(e["file"], e["line"]) for e in body["errors"]}
    assert ("services.json", 5) in lines and ("services.json", 10) in lines
    assert (await _export(api, a, "json")) == b"[]"
    r = await api.client.post(
        f"{PREFIX}/imports", content=b"{broken", headers={**_manager(api, a), **JSON}
    )
    assert r.status_code == 422
    r = await api.client.post(
        f"{PREFIX}/imports", content=b"PK-not-a-zip", headers={**_manager(api, a), **ZIP}
    )
    assert r.status_code == 422


async def test_only_the_neighbourhood_manager_imports_and_exports(
    api: Api, two_tenants: TwoTenants
) -> None:
    admin = api.headers(two_tenants.a, org_a=["org_admin"])
    r = await api.client.post(f"{PREFIX}/imports", content=b"[]", headers={**admin, **JSON})
    assert r.status_code == 403
    r = await api.client.get(f"{PREFIX}/exports/hsds", headers=admin)
    assert r.status_code == 403
