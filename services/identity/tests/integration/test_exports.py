"""Export of everything with real NATS, object store and database: the resident asks once,
every expected service answers with its part, identity adds its own and the resident
downloads one archive; an admin may start one on the resident's written request."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from identity.domain.roles import Role
from identity.settings import Settings
from wijkkracht_common import export
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataExported
from wijkkracht_common.events.social_map import SocialMapPersonDataExported
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

from .conftest import App, running
from .privacy_helpers import answer_export, purged

pytestmark = pytest.mark.integration

P = "/identity/v1"
BUNDLE = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {}}]}


async def answer_both(app: App, nats_url: str, tenant: str, export_id: str, person: str) -> None:
    await answer_export(
        nats_url,
        tenant,
        QuestionnairesPersonDataExported,
        export_id=export_id,
        person_id=person,
        part={"responses": [{"id": "r-1"}], "fhir_bundle": BUNDLE, "counts": {"responses": 1}},
    )
    await answer_export(
        nats_url,
        tenant,
        SocialMapPersonDataExported,
        export_id=export_id,
        person_id=person,
        part={"reports": [], "counts": {"reports": 0}},
    )


async def test_the_resident_downloads_one_archive_with_every_part(
    settings_factory: Callable[..., Settings], two_tenants: TwoTenants, nats_url: str
) -> None:
    settings = settings_factory(export_expected_services=["questionnaires", "social_map"])
    t, other_tenant = two_tenants.a, two_tenants.b
    async with running(settings) as identity:
        http = identity.http
        await identity.tenant(t)
        await identity.tenant(other_tenant)
        resident = await identity.person(
            t, "ria@a.test", {"welzijn": [Role.RESIDENT]}, display_name="Ria Smit"
        )
        me = await identity.headers_for(t, resident)
        neighbour = await identity.person(t, "buur@a.test", {"welzijn": [Role.RESIDENT]})
        theirs = await identity.headers_for(t, neighbour)
        admin = await identity.person(
            t, "anna@a.test", {"welzijn": [Role.TENANT_ADMIN]}, display_name="Anna de Boer"
        )
        admin_h = await identity.headers_for(t, admin)
        admin_b = await identity.person(other_tenant, "b@b.test", {"welzijn": [Role.TENANT_ADMIN]})
        admin_b_h = await identity.headers_for(other_tenant, admin_b)
        granted = await http.post(
            f"{P}/me/consents",
            headers=me,
            json={"organisation": "welzijn", "purpose": "share_results"},
        )
        assert granted.status_code == 201

        started = await http.post(f"{P}/me/exports", headers=me)
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["status"] == "running" and job["requested_by"] == "self"
        assert job["pending_services"] == ["questionnaires", "social_map"]
        again = await http.post(f"{P}/me/exports", headers=me)
        assert again.status_code == 200 and again.json()["id"] == job["id"]  # idempotent
        early = await http.get(f"{P}/me/exports/{job['id']}/archive", headers=me)
        assert early.status_code == 409
        assert early.headers["content-type"].startswith("application/problem+json")
        # Another resident: as if it did not exist.
        for path in (f"/me/exports/{job['id']}", f"/me/exports/{job['id']}/archive"):
            assert (await http.get(f"{P}{path}", headers=theirs)).status_code == 404

        await answer_both(identity, nats_url, t, job["id"], resident)

        async def ready() -> dict[str, Any] | None:
            body: dict[str, Any] = (
                await http.get(f"{P}/me/exports/{job['id']}", headers=me)
            ).json()
            return body if body["status"] == "ready" else None

        done = await eventually(ready)
        assert done["pending_services"] == []
        assert done["archive_url"] == f"{P}/me/exports/{job['id']}/archive"
        assert {p["service"]: p["counts"] for p in done["parts"]} == {
            "questionnaires": {"responses": 1},
            "social_map": {"reports": 0},
        }
        download = await http.get(done["archive_url"], headers=me)
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert download.headers["content-disposition"].startswith("attachment;")
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assert sorted(archive.namelist()) == [
                "identity.json",
                "questionnaires-fhir-bundle.json",
                "questionnaires.json",
                "samenvatting.html",
                "social_map.json",
            ]
            own = json.loads(archive.read("identity.json"))
            assert own["profile"]["display_name"] == "Ria Smit"
            assert own["consents"]["history"][0]["purpose"] == "share_results"
            assert own["consents"]["history"][0]["version"] == 1
            assert json.loads(archive.read("questionnaires.json"))["responses"] == [{"id": "r-1"}]
            assert json.loads(archive.read("questionnaires-fhir-bundle.json")) == BUNDLE
            summary = archive.read("samenvatting.html").decode()
        assert "Uw gegevens bij Wijkkracht" in summary and "Your data at Wijkkracht" in summary
        assert "Ria Smit" in summary and "Welzijn" in summary

        # An admin, on the resident's written request: the reason is required.
        path = f"{P}/people/{resident}/exports"
        missing = await http.post(path, headers=admin_h, json={})
        assert missing.status_code == 422
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in missing.json()["errors"]] == ["reason"]
        assert (await http.post(path, headers=admin_h)).status_code == 422
        reason = {"reason": "brief van 3 maart 2026"}
        elsewhere = await http.post(path, headers=admin_b_h, json=reason)
        assert elsewhere.status_code == 404  # another tenant's person
        assert (await http.post(path, headers=me, json=reason)).status_code == 403
        by_admin = await http.post(path, headers=admin_h, json=reason)
        assert by_admin.status_code == 202, by_admin.text
        second = by_admin.json()
        assert second["requested_by"] == "admin" and second["reason"] == reason["reason"]
        await answer_both(identity, nats_url, t, second["id"], resident)

        async def admin_ready() -> bool:
            got = await http.get(f"{P}/people/{resident}/exports/{second['id']}", headers=admin_h)
            return bool(got.json()["status"] == "ready")

        assert await eventually(admin_ready)
        handed = await http.get(
            f"{P}/people/{resident}/exports/{second['id']}/archive", headers=admin_h
        )
        assert handed.status_code == 200 and handed.content[:2] == b"PK"
        # The resident's own view lists both, and sees who made the copy and why.
        listed = (await http.get(f"{P}/me/exports", headers=me)).json()["items"]
        assert [x["id"] for x in listed] == [second["id"], job["id"]]

        async def admin_in_log() -> list[dict[str, Any]]:
            items = (await http.get(f"{P}/me/access-log", headers=me)).json()["items"]
            return [i for i in items if i["actor"] == admin and i["action"] == "export"]

        (line,) = await eventually(admin_in_log)
        assert line["who"] == "A. de Boer, beheerder"
        assert line["organisation"] == {"slug": "welzijn", "name": "Welzijn"}
        assert line["what"] == "maakte een kopie van al uw gegevens"
        assert line["why"] == "U vroeg erom in een brief of formulier."
        assert line["why_en"] == "You asked for it in writing."


async def test_parts_and_archive_of_an_erased_person_are_deleted(
    settings_factory: Callable[..., Settings], two_tenants: TwoTenants, nats_url: str
) -> None:
    settings = settings_factory(
        export_expected_services=["questionnaires"], erasure_expected_services=[]
    )
    t = two_tenants.a
    async with running(settings) as identity:
        await identity.tenant(t)
        resident = await identity.person(t, "ria@a.test", {"welzijn": [Role.RESIDENT]})
        me = await identity.headers_for(t, resident)
        job = (await identity.http.post(f"{P}/me/exports", headers=me)).json()
        await answer_export(
            nats_url,
            t,
            QuestionnairesPersonDataExported,
            export_id=job["id"],
            person_id=resident,
            part={"counts": {}},
        )

        async def ready() -> bool:
            got = await identity.http.get(f"{P}/me/exports/{job['id']}", headers=me)
            return bool(got.json()["status"] == "ready")

        assert await eventually(ready)
        js = identity.ctx.runtime.js
        names = [
            export.part_name(t, job["id"], "questionnaires"),
            f"{t}/{job['id']}/archive.zip",
        ]
        assert (await export.read_part(js, names[0]))["person_id"] == resident

        assert (await identity.http.post(f"{P}/me/erasure", headers=me)).status_code == 202
        assert await purged(identity.ctx)
        assert await export.delete_parts(js, names) == 0  # already gone
