"""Authoring in Markdown (draft → published, variants, preview), catalogue scope, roles,
422 problems with paths, Idempotency-Key, pagination."""

from __future__ import annotations

import pytest
from learning_paths.main import PREFIX
from lp_harness import MODULE_MD, ORG, OTHER_ORG, Api, module_md
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration


async def test_an_editor_writes_previews_and_publishes_a_module(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    made = await api.client.post(
        f"{PREFIX}/modules",
        json={"organisation": ORG, "slug": "stress", "sources": {"nl": MODULE_MD}},
        headers=api.editor(t),
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "draft" and body["theme"] == "stress"
    assert [s["id"] for s in body["draft"]["steps"]] == ["wat-is-stress", "mijn-signalen", "check"]
    module_id = body["id"]

    # A resident of the organisation does not see the draft.
    resident = api.resident(t, "r-1")
    assert (
        await api.client.get(f"{PREFIX}/modules/{module_id}", headers=resident)
    ).status_code == 404

    preview = await api.client.get(f"{PREFIX}/modules/{module_id}/preview", headers=api.editor(t))
    assert preview.status_code == 200 and "Wat is stress?" in preview.text
    assert "Voorbeeld (concept)" in preview.text

    simple = MODULE_MD.replace("Wat is stress?", "Wat is stress? (makkelijk)")
    written = await api.client.put(
        f"{PREFIX}/modules/{module_id}/draft/variants/nl-simple",
        content=simple.encode(),
        headers={**api.editor(t), "content-type": "text/markdown"},
    )
    assert written.status_code == 200, written.text
    assert written.json()["variants"] == ["nl", "nl-simple"]

    published = await api.client.post(
        f"{PREFIX}/modules/{module_id}/publish", headers=api.editor(t)
    )
    assert published.status_code == 200, published.text
    assert published.json()["published_version"] == 1
    seen = await api.client.get(f"{PREFIX}/modules/{module_id}?variant=nl-simple", headers=resident)
    assert seen.status_code == 200
    assert seen.json()["version"]["steps"][0]["title"] == "Wat is stress? (makkelijk)"
    assert "source" not in seen.json()["version"]  # the Markdown is the editors'

    # Editing a published module opens version 2 as a draft; readers keep version 1.
    again = await api.client.put(
        f"{PREFIX}/modules/{module_id}/draft/variants/nl",
        json={"source": MODULE_MD.replace("Korte module", "Nieuwe versie")},
        headers=api.editor(t),
    )
    assert again.status_code == 200 and again.json()["draft"]["version"] == 2
    assert again.json()["draft"]["variants"] == ["nl", "nl-simple"]
    still = await api.client.get(f"{PREFIX}/modules/{module_id}", headers=resident)
    assert still.json()["version"]["version"] == 1


async def test_invalid_markdown_is_422_with_paths_and_nothing_is_stored(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    broken = """---
title: Kapot
---

---
kind: quiz
title: Q
questions:
  - question: Wat?
    options: [Een]
    answer: 4
---

---
kind: dans
title: X
---
"""
    made = await api.client.post(
        f"{PREFIX}/modules",
        json={"organisation": ORG, "slug": "kapot", "sources": {"nl": broken}},
        headers=api.editor(t),
    )
    assert made.status_code == 422
    assert made.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in made.json()["errors"]}
    assert {
        "sources.nl.steps[0].questions[0].options",
        "sources.nl.steps[0].questions[0].answer",
        "sources.nl.steps[1].kind",
    } <= fields
    assert all("line" in e for e in made.json()["errors"])
    listing = await api.client.get(f"{PREFIX}/modules", headers=api.editor(t))
    assert listing.json()["items"] == []


async def test_variants_must_have_the_same_steps(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    made = await api.module(t)
    other = await api.client.put(
        f"{PREFIX}/modules/{made['id']}/draft/variants/en",
        content=module_md("Beat stress", steps=2).encode(),
        headers={**api.editor(t), "content-type": "text/markdown"},
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "variants.en.steps"


async def test_roles_scope_and_the_catalogue(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    resident = api.resident(t, "r-1")
    denied = await api.client.post(
        f"{PREFIX}/modules",
        json={"organisation": ORG, "slug": "x", "sources": {"nl": MODULE_MD}},
        headers=resident,
    )
    assert denied.status_code == 403
    private = await api.module(t, slug="eigen", scope="organisation")
    shared = await api.module(t, slug="gedeeld", scope="tenant")
    outsider = api.resident(t, "r-2", org=OTHER_ORG)
    url = f"{PREFIX}/modules/{private['id']}"
    assert (await api.client.get(url, headers=resident)).status_code == 200
    assert (await api.client.get(url, headers=outsider)).status_code == 404
    seen = {
        m["id"]
        for m in (await api.client.get(f"{PREFIX}/modules", headers=outsider)).json()["items"]
    }
    assert seen == {shared["id"]}
    # An editor of another organisation can neither read the private module nor change it.
    other_editor = api.editor(t, OTHER_ORG)
    assert (await api.client.get(url, headers=other_editor)).status_code == 404
    write = await api.client.put(
        f"{url}/draft/variants/nl", json={"source": MODULE_MD}, headers=other_editor
    )
    assert write.status_code == 404
    # paths are not modules
    assert (
        await api.client.get(f"{PREFIX}/paths/{shared['id']}", headers=resident)
    ).status_code == 404


async def test_idempotency_key_and_pagination(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    headers = {**api.editor(t), "Idempotency-Key": "mod-1"}
    body = {"organisation": ORG, "slug": "een", "sources": {"nl": MODULE_MD}}
    first = await api.client.post(f"{PREFIX}/modules", json=body, headers=headers)
    second = await api.client.post(f"{PREFIX}/modules", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("idempotent-replay") == "true"
    taken = await api.client.post(f"{PREFIX}/modules", json=body, headers=api.editor(t))
    assert taken.status_code == 409
    for n in range(4):
        await api.module(t, slug=f"m{n}")
    seen: list[str] = []
    cursor = None
    while True:
        query = f"?limit=2{'&cursor=' + cursor if cursor else ''}"
        page = (await api.client.get(f"{PREFIX}/modules{query}", headers=api.editor(t))).json()
        seen.extend(m["id"] for m in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


async def test_tenant_b_cannot_read_or_write_tenant_a_content(
    api: Api, two_tenants: TwoTenants
) -> None:
    made = await api.module(two_tenants.a)
    b_editor = api.editor(two_tenants.b)
    url = f"{PREFIX}/modules/{made['id']}"
    assert (await api.client.get(url, headers=b_editor)).status_code == 404
    write = await api.client.put(
        f"{url}/draft/variants/nl", json={"source": MODULE_MD}, headers=b_editor
    )
    assert write.status_code == 404
    assert (await api.client.post(f"{url}/publish", headers=b_editor)).status_code == 404
    # and the other way round
    made_b = await api.module(two_tenants.b)
    a_editor = api.editor(two_tenants.a)
    assert (
        await api.client.get(f"{PREFIX}/modules/{made_b['id']}", headers=a_editor)
    ).status_code == 404


async def test_a_step_prints_for_paper(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    made = await api.module(t)
    printed = await api.client.get(
        f"{PREFIX}/modules/{made['id']}/steps/check/print", headers=api.resident(t, "r-1")
    )
    assert printed.status_code == 200
    assert printed.headers["content-type"].startswith("text/html")
    assert "Wat helpt tegen stress?" in printed.text and "@media print" in printed.text
