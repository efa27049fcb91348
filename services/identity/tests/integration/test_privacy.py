"""Issue 10 on identity's side with real NATS and database: the access log names people and
organisations (staff reads logged on behalf of their organisation), consent events carry
their version, shared invitation answers become consent, and after an erasure nothing in
identity's database or the streams names the person, not even after late events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from identity.adapters import schema as c
from identity.domain.roles import Role
from identity.settings import Settings
from nats.js.errors import NotFoundError
from wijkkracht_common import export
from wijkkracht_common.access_log import ACCESS_LOG, record_access
from wijkkracht_common.auth import Principal
from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.events.questionnaires import (
    InvitationAnswersShared,
    QuestionnairesPersonDataExported,
)
from wijkkracht_common.privacy_scan import scan_databases, scan_streams
from wijkkracht_common.testing.plugin import TwoTenants
from wijkkracht_common.testing.waiting import eventually

from .conftest import PASSWORD, App, running
from .oauth_helpers import authorization_code, exchange, public_client
from .privacy_helpers import answer_export, claimed, publish, purged
from .test_events_and_consent import stream_events

pytestmark = pytest.mark.integration

P = "/identity/v1"


async def test_the_access_log_says_who_for_which_organisation_what_and_why(
    identity: App, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    await identity.tenant(t, orgs=("welzijn", "buurtwerk"))
    resident = await identity.person(
        t, "ria@a.test", {"welzijn": [Role.RESIDENT], "buurtwerk": [Role.RESIDENT]}
    )
    org_admin = await identity.person(
        t, "jan@a.test", {"buurtwerk": [Role.ORG_ADMIN]}, display_name="Jan de Vries"
    )
    professional = await identity.person(
        t, "petra@a.test", {"welzijn": [Role.PROFESSIONAL]}, display_name="Petra Jansen"
    )
    # A staff read in identity is logged on behalf of the organisation it is done for.
    read = await identity.http.get(
        f"{P}/people/{resident}", headers=await identity.headers_for(t, org_admin)
    )
    assert read.status_code == 200
    db = await identity.ctx.tenant_db(t)
    logged = await db[ACCESS_LOG].find_one({"actor": org_admin})
    assert logged is not None and logged["on_behalf_of"] == "buurtwerk"
    # Other services' records arrive as `access.recorded` (ids only, never names).
    for actor in (professional, "pro-who-left"):
        await record_access(
            db,
            service="questionnaires",
            principal=Principal(subject=actor, tenant=t),
            resident=resident,
            action="read",
            resource="response/r-1",
            reason="share_results",
            on_behalf_of="welzijn",
        )
    identity.ctx.runtime.notify_relay()
    me = await identity.headers_for(t, resident)

    async def three_lines() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            await identity.http.get(f"{P}/me/access-log", headers=me)
        ).json()["items"]
        return items if len(items) == 3 else []

    items = {i["actor"]: i for i in await eventually(three_lines)}
    by_admin = items[org_admin]
    assert by_admin["who"] == "J. de Vries, beheerder van de organisatie"
    assert by_admin["organisation"] == {"slug": "buurtwerk", "name": "Buurtwerk"}
    assert by_admin["what"] == "bekeek uw accountgegevens"
    assert by_admin["why"] == "Beheer van accounts."
    by_pro = items[professional]
    assert (by_pro["who"], by_pro["who_en"]) == (
        "P. Jansen, sociaal werker",
        "P. Jansen, social worker",
    )
    assert by_pro["organisation"] == {"slug": "welzijn", "name": "Welzijn"}
    assert by_pro["what"] == "bekeek uw ingevulde vragenlijst"
    assert by_pro["why"] == "U gaf toestemming om uw uitslagen te delen."
    assert items["pro-who-left"]["who"] == "Een medewerker (niet meer actief)"


async def test_consent_versions_and_shared_invitation_answers(
    identity: App, two_tenants: TwoTenants, nats_url: str
) -> None:
    t = two_tenants.a
    await identity.tenant(t)
    resident = await identity.person(t, "ria@a.test", {"welzijn": [Role.RESIDENT]})
    me = await identity.headers_for(t, resident)
    consent = {"organisation": "welzijn", "purpose": "research"}
    assert (await identity.http.post(f"{P}/me/consents", headers=me, json=consent)).is_success
    assert (await identity.http.delete(f"{P}/me/consents/welzijn/research", headers=me)).is_success
    assert (await identity.http.post(f"{P}/me/consents", headers=me, json=consent)).is_success

    # Not attached to an account yet: nothing to record. Then attached: share_results.
    await publish(
        nats_url,
        t,
        InvitationAnswersShared(
            invitation_id="inv-1", response_id="r-1", organisation_slug="welzijn"
        ),
        subject="r-1",
    )
    shared = await publish(
        nats_url,
        t,
        InvitationAnswersShared(
            invitation_id="inv-1",
            response_id="r-1",
            organisation_slug="welzijn",
            person_id=resident,
        ),
        subject="r-1",
    )
    db = await identity.ctx.tenant_db(t)
    assert await eventually(lambda: claimed(db, InvitationAnswersShared, shared))

    async def shares() -> list[dict[str, Any]]:
        body = (await identity.http.get(f"{P}/me/consents", headers=me)).json()
        current: list[dict[str, Any]] = body["current"]
        return current if "share_results" in str(current) else []

    # (the claim may show before its transaction ends: wait for the ledger itself)
    assert await eventually(shares) == [
        {"organisation": "welzijn", "purposes": ["research", "share_results"]}
    ]
    granted = await stream_events(nats_url, f"wk.{t}.identity.consent_granted.v1", expect=3)
    revoked = await stream_events(nats_url, f"wk.{t}.identity.consent_revoked.v1", expect=1)
    assert [(e["data"]["purpose"], e["data"]["version"]) for e in granted] == [
        ("research", 1),
        ("research", 3),
        ("share_results", 1),
    ]
    assert granted[-1]["actor"] == resident
    assert [e["data"]["version"] for e in revoked] == [2]


async def test_after_an_erasure_nothing_names_the_person_not_even_after_late_events(
    settings_factory: Callable[..., Settings], two_tenants: TwoTenants, nats_url: str
) -> None:
    settings = settings_factory(export_expected_services=[], erasure_expected_services=[])
    t = two_tenants.a
    async with running(settings) as identity:
        http = identity.http
        await identity.tenant(t)
        admin = await identity.person(t, "admin@a.test", {"welzijn": [Role.TENANT_ADMIN]})
        admin_h = await identity.headers_for(t, admin)
        client = await public_client(identity, t)
        # The resident through the real flows: registration (a stored idempotent answer),
        # tokens, consent, a staff read (access log), an export (job, archive).
        registered = await http.post(
            f"{P}/registrations",
            json={
                "client_id": client.client_id,
                "display_name": "Ria Smit",
                "email": "ria@a.test",
                "password": PASSWORD,
                "pc4": "1234",
            },
            headers={"Idempotency-Key": "reg-ria"},
        )
        assert registered.status_code == 201
        resident = registered.json()["id"]
        code, verifier = await authorization_code(identity, client.client_id, "ria@a.test")
        tokens = (await exchange(http, client.client_id, code, verifier)).json()
        me = {"Authorization": f"Bearer {tokens['access_token']}"}
        consent = {"organisation": "welzijn", "purpose": "share_results"}
        assert (await http.post(f"{P}/me/consents", headers=me, json=consent)).is_success
        assert (await http.get(f"{P}/people/{resident}", headers=admin_h)).is_success
        job = (await http.post(f"{P}/me/exports", headers=me)).json()
        assert job["status"] == "ready"  # no service to wait for
        prefix = f"wk_{settings.service_name}_"

        async def residue() -> list[Any]:
            found = await scan_databases(settings.mongo_url, t, resident)
            return [r for r in found if r.database.startswith(prefix)]

        before = {r.collection for r in await residue()}
        assert {c.PEOPLE, c.CONSENTS, c.REFRESH_TOKENS, c.EXPORTS, ACCESS_LOG} <= before

        assert (await http.post(f"{P}/me/erasure", headers=me)).status_code == 202
        assert await purged(identity.ctx)
        status = (await http.get(f"{P}/people/{resident}/erasure", headers=admin_h)).json()
        assert status["status"] == "completed" and status["person_id"] == resident
        assert await residue() == []
        assert await scan_streams(identity.ctx.runtime.js, t, resident) == []

        # Late events about the person are taken and dropped: nothing is written back.
        db = await identity.ctx.tenant_db(t)
        late = [
            (
                AccessRecorded,
                await publish(
                    nats_url,
                    t,
                    AccessRecorded(
                        service="questionnaires",
                        actor="pro-1",
                        on_behalf_of="welzijn",
                        resident=resident,
                        action="read",
                        resource="response/r-9",
                        reason="share_results",
                    ),
                    subject=resident,
                ),
            ),
            (
                InvitationAnswersShared,
                await publish(
                    nats_url,
                    t,
                    InvitationAnswersShared(
                        invitation_id="inv-9",
                        response_id="r-9",
                        organisation_slug="welzijn",
                        person_id=resident,
                    ),
                    subject="r-9",
                ),
            ),
            (
                QuestionnairesPersonDataExported,
                await answer_export(
                    nats_url,
                    t,
                    QuestionnairesPersonDataExported,
                    export_id=job["id"],
                    person_id=resident,
                    part={"counts": {}},
                ),
            ),
        ]
        for event_cls, envelope in late:
            assert await eventually(lambda e=event_cls, x=envelope: claimed(db, e, x))
        assert await residue() == []
        assert await db[c.CONSENTS].count_documents({}) == 0
        # The late part is gone from the object store too.
        js = identity.ctx.runtime.js
        late_part = export.part_name(t, job["id"], "questionnaires")

        async def part_gone() -> bool:
            try:
                await export.read_part(js, late_part)
            except NotFoundError:
                return True
            return False

        assert await eventually(part_gone)
