"""Content packages: export a module as cmi5.xml + Markdown and import it back; invalid
packages are 422 with the path of each error and nothing imported; a 1,000-unit structure
imports."""

from __future__ import annotations

import io
import zipfile

import pytest
from learning_paths.domain import cmi5
from learning_paths.main import PREFIX
from lp_harness import ORG, Api
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


async def _import(api: Api, tenant: str, slug: str, package: bytes) -> dict[str, object]:
    got = await api.client.post(
        f"{PREFIX}/modules/packages",
        params={"organisation": ORG, "slug": slug},
        content=package,
        headers={**api.editor(tenant), "content-type": "application/zip"},
    )
    body: dict[str, object] = {**got.json(), "http_status": got.status_code}
    return body


async def test_a_module_travels_as_a_package(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    module = await api.module(t)
    exported = await api.client.get(
        f"{PREFIX}/modules/{module['id']}/package", headers=api.editor(t)
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(exported.content))
    assert sorted(files.namelist()) == ["cmi5.xml", "content/nl.md"]
    structure = cmi5.parse(files.read("cmi5.xml"))
    assert [u.id.rsplit("/", 1)[1] for u in structure.units] == [
        "wat-is-stress",
        "mijn-signalen",
        "check",
    ]
    imported = await _import(api, t, "kopie", exported.content)
    assert imported["http_status"] == 201, imported
    assert imported["step_count"] == 3 and imported["title"] == "Stress de baas"


async def test_an_invalid_package_imports_nothing(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    bad_xml = (
        f'<courseStructure xmlns="{cmi5.NS}"><course><title><langstring>x</langstring></title>'
        "</course><au id='http://e.org/1'><title><langstring>a</langstring></title>"
        "<description><langstring>b</langstring></description></au></courseStructure>"
    ).encode()
    result = await _import(api, t, "kapot", zipped({"cmi5.xml": bad_xml}))
    assert result["http_status"] == 422
    fields = {e["field"] for e in result["errors"]}  # type: ignore[attr-defined]
    assert {
        "cmi5.xml: courseStructure/course",
        "cmi5.xml: courseStructure/au[1]",
    } <= fields
    broken_md = zipped(
        {
            "cmi5.xml": cmi5.write(
                cmi5.CourseStructure(
                    "http://e.org/c",
                    {"nl": "C"},
                    {"nl": "C"},
                    [cmi5.Unit("http://e.org/1", {"nl": "a"}, {"nl": "a"}, "http://e.org/1.html")],
                )
            ),
            "content/nl.md": b"---\ntitle: X\n---\n\n---\nkind: dans\ntitle: y\n---\n",
        }
    )
    result = await _import(api, t, "kapot", broken_md)
    assert result["http_status"] == 422
    assert result["errors"][0]["field"] == "content/nl.md: steps[0].kind"  # type: ignore[index]
    assert (await _import(api, t, "kapot", b"geen zip"))["http_status"] == 422
    listing = await api.client.get(f"{PREFIX}/modules", headers=api.editor(t))
    assert listing.json()["items"] == []


async def test_a_thousand_unit_structure_imports(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    units = [
        cmi5.Unit(
            id=f"http://course.example.org/au/{n}",
            title={"nl": f"Onderdeel {n}"},
            description={"nl": f"Uitleg bij onderdeel {n}"},
            url=f"https://content.example.org/au/{n}.html",
        )
        for n in range(1000)
    ]
    structure = cmi5.CourseStructure(
        "http://course.example.org", {"nl": "Groot"}, {"nl": "G"}, units
    )
    result = await _import(api, t, "groot", zipped({"cmi5.xml": cmi5.write(structure)}))
    assert result["http_status"] == 201, str(result)[:500]
    assert result["step_count"] == 1000
