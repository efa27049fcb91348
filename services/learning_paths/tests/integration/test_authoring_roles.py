"""Authoring needs the role `content_editor` of the owning organisation: a professional or
an org admin without it can create, edit, publish, import and export nothing (403 where
they may read the item, 404 where they may not), and nothing changes."""

from __future__ import annotations

import io
import zipfile

import pytest
from learning_paths.main import PREFIX
from lp_harness import MODULE_MD, ORG, OTHER_ORG, Api, path_md
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("roles", [["professional"], ["org_admin"], ["professional", "org_admin"]])
async def test_staff_without_content_editor_do_not_author(
    api: Api, two_tenants: TwoTenants, roles: list[str]
) -> None:
    t = two_tenants.a
    staff = api.issuer.headers(sub="pro-9", tenant=t, orgs={ORG: roles})
    module = await api.module(t)
    path = await api.module(t, slug="grip", source=path_md("stress"), kind="paths")
    for kind in ("modules", "paths"):
        source = MODULE_MD if kind == "modules" else path_md("stress")
        made = await api.client.post(
            f"{PREFIX}/{kind}",
            json={"organisation": ORG, "slug": "nieuw", "sources": {"nl": source}},
            headers=staff,
        )
        assert made.status_code == 403, made.text
        assert made.json()["required_roles"] == ["content_editor"]
    for kind, item in (("modules", module), ("paths", path)):
        url = f"{PREFIX}/{kind}/{item['id']}"
        assert (await api.client.get(url, headers=staff)).status_code == 200  # may read it
        written = await api.client.put(
            f"{url}/draft/variants/nl", json={"source": MODULE_MD}, headers=staff
        )
        assert written.status_code == 403
        assert (await api.client.post(f"{url}/publish", headers=staff)).status_code == 403
        scoped = await api.client.patch(url, json={"scope": "organisation"}, headers=staff)
        assert scoped.status_code == 403
    exported = await api.client.get(f"{PREFIX}/modules/{module['id']}/package", headers=staff)
    assert exported.status_code == 403
    package = await api.client.get(
        f"{PREFIX}/modules/{module['id']}/package", headers=api.editor(t)
    )
    assert package.status_code == 200
    zipfile.ZipFile(io.BytesIO(package.content)).testzip()
    imported = await api.client.post(
        f"{PREFIX}/modules/packages",
        params={"organisation": ORG, "slug": "kopie"},
        content=package.content,
        headers={**staff, "content-type": "application/zip"},
    )
    assert imported.status_code == 403
    # nothing changed: the editor still sees the two published items only
    listed = await api.client.get(f"{PREFIX}/modules", headers=api.editor(t))
    assert [m["id"] for m in listed.json()["items"]] == [module["id"]]
    again = await api.client.get(f"{PREFIX}/modules/{module['id']}", headers=api.editor(t))
    assert again.json()["latest_version"] == again.json()["published_version"] == 1


async def test_an_editor_of_another_organisation_exports_shared_modules_only(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    shared = await api.module(t, slug="gedeeld", scope="tenant")
    private = await api.module(t, slug="eigen", scope="organisation")
    other = api.editor(t, OTHER_ORG)
    url = f"{PREFIX}/modules/{{}}/package"
    assert (await api.client.get(url.format(shared["id"]), headers=other)).status_code == 200
    assert (await api.client.get(url.format(private["id"]), headers=other)).status_code == 404
    into_ours = await api.client.post(
        f"{PREFIX}/modules/packages",
        params={"organisation": ORG, "slug": "kopie"},
        content=b"not even a zip",
        headers={**other, "content-type": "application/zip"},
    )
    assert into_ours.status_code == 403  # the role is checked before the package is read
    # another tenant's editor does not find the module at all
    b_editor = api.editor(two_tenants.b)
    assert (await api.client.get(url.format(shared["id"]), headers=b_editor)).status_code == 404
