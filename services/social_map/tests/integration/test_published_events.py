"""What other services learn from the social map's stream (issue 13): `entries_imported`
carries each new or changed entry's facts, `taxonomy_changed` the tenant's whole tree — read
back from JetStream as a consumer would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import PREFIX, Api
from helpers import demo_hsds_json, eventually
from nats.js.api import ConsumerConfig, DeliverPolicy
from wijkkracht_common.events.social_map import EntriesImported, TaxonomyChanged
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
FACT_KEYS = {
    "entry_id",
    "organization_id",
    "owner_organisation",
    "kind",
    "category_codes",
    "pc4s",
    "status",
    "freshness",
    "revision",
}


def _manager(api: Api, tenant: str) -> dict[str, str]:
    return api.headers(tenant, sub="p-m", gemeente_demo=["neighbourhood_manager"])


class _Stream:
    """Every message on one subject from the start, as a consumer of the stream sees it."""

    def __init__(self, api: Api, subject: str) -> None:
        self.api, self.subject = api, subject
        self.messages: list[dict[str, Any]] = []
        self._sub: Any = None

    async def poll(self) -> list[dict[str, Any]]:
        if self._sub is None:
            self._sub = await self.api.js.pull_subscribe(
                self.subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
            )
        try:
            batch = await self._sub.fetch(100, timeout=0.5)
        except TimeoutError:
            return self.messages
        for msg in batch:
            self.messages.append(json.loads(msg.data))
            await msg.ack()
        return self.messages

    async def until(self, count: int) -> list[dict[str, Any]]:
        async def enough() -> bool:
            return len(await self.poll()) >= count

        await eventually(enough)
        return self.messages

    async def close(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()


async def _import(api: Api, tenant: str, body: bytes) -> dict[str, Any]:
    r = await api.client.post(
        f"{PREFIX}/imports", content=body, headers={**_manager(api, tenant), **JSON}
    )
    assert r.status_code == 201, r.text[:300]
    return dict(r.json())


async def test_an_import_publishes_its_entries_facts_and_the_taxonomy_once(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    taxonomy = _Stream(api, f"wk.{t}.social_map.taxonomy_changed.v1")
    imported = _Stream(api, f"wk.{t}.social_map.entries_imported.v1")
    try:
        body = demo_hsds_json(t, api.clock())
        assert (await _import(api, t, body))["created"] == 373
        batches = await imported.until(1)

        async def all_batches() -> bool:
            got = await imported.poll()
            return sum(len(b["data"]["published"]) for b in got) >= 373

        await eventually(all_batches)
        facts: dict[str, dict[str, Any]] = {}
        for envelope in batches:
            data = EntriesImported.model_validate(envelope["data"])
            assert [f.entry_id for f in data.entries] == [*data.published, *data.updated]
            for raw in envelope["data"]["entries"]:
                assert set(raw) == FACT_KEYS  # ids and codes only, no names or text
            facts.update({f.entry_id: f.model_dump() for f in data.entries})
        assert len(facts) == 373
        # each entry's facts are what the social map stored
        services = json.loads(body)
        walk = next(s for s in services if s["name"].startswith("Wandelgroep De Stappers"))
        stored = (
            await api.client.get(f"{PREFIX}/entries/{_our_id(walk)}", headers=_manager(api, t))
        ).json()
        fact = facts[stored["entry"]["id"]]
        assert fact["kind"] == stored["entry"]["kind"] == "activity"
        assert fact["category_codes"] == stored["entry"]["category_codes"]
        assert fact["pc4s"] == ["9903"] and fact["status"] == "active"
        assert fact["freshness"] == stored["freshness"] and fact["revision"] == 0
        assert fact["organization_id"] == stored["entry"]["organization_id"]

        # the tenant's tree (the default, never edited) was announced with the import
        [announced] = await taxonomy.until(1)
        tree = TaxonomyChanged.model_validate(announced["data"])
        assert tree.version == 0 and len(tree.terms) == 24
        walking = next(term for term in tree.terms if term.code == "wandelen")
        assert walking.parent_code == "bewegen"
        assert walking.labels == {"nl": "Wandelen", "en": "Walking"}
        assert walking.dimensions == ["participation", "bodily_functions"]
        assert announced["subject"] == "taxonomy"

        # a changed entry comes back under `updated` with its new facts; the tree is not
        # announced again (same version)
        walk["status"] = "temporarily closed"
        again = await _import(api, t, json.dumps(services).encode())
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 372)
        later = await imported.until(len(batches) + 1)
        change = EntriesImported.model_validate(later[-1]["data"])
        assert change.published == [] and change.updated == [stored["entry"]["id"]]
        [changed] = change.entries
        assert changed.status == "temporarily closed" and changed.revision == 1
        assert len(await taxonomy.poll()) == 1
    finally:
        await taxonomy.close()
        await imported.close()


def _our_id(service: dict[str, Any]) -> str:
    """Our id of an exported service (kept in its metadata when it is not a UUID)."""
    for m in service.get("metadata", []):
        if m.get("field_name") == "id":
            return str(m["previous_value"])
    return str(service["id"])


async def test_taxonomy_changes_are_published_whole(api: Api, two_tenants: TwoTenants) -> None:
    t = two_tenants.a
    manager = _manager(api, t)
    stream = _Stream(api, f"wk.{t}.social_map.taxonomy_changed.v1")
    try:
        tree = (await api.client.get(f"{PREFIX}/taxonomy", headers=manager)).json()
        categories = tree["categories"]
        for c in categories:
            if c["code"] == "wandelen":
                c["label_nl"], c["label_en"] = "Wandelen en fietsen", "Walking and cycling"
        categories.append(
            {"code": "fietsen", "parent": "bewegen", "label_nl": "Fietsen", "label_en": "Cycling"}
        )
        r = await api.client.put(
            f"{PREFIX}/taxonomy", json={"categories": categories}, headers=manager
        )
        assert r.status_code == 200 and r.json()["version"] == 1
        [changed] = await stream.until(1)
        data = TaxonomyChanged.model_validate(changed["data"])
        assert data.version == 1 and len(data.terms) == 25
        by_code = {term.code: term for term in data.terms}
        assert by_code["wandelen"].labels == {
            "nl": "Wandelen en fietsen",
            "en": "Walking and cycling",
        }
        assert by_code["fietsen"].parent_code == "bewegen" and by_code["fietsen"].dimensions == []
        assert changed["actor"] == "p-m" and changed["tenant"] == t
        # a curator can publish it again (a consumer catching up); others cannot
        resident = api.headers(t, sub="p-res", org_a=["resident"])
        r = await api.client.post(f"{PREFIX}/taxonomy/announcements", headers=resident)
        assert r.status_code == 403
        r = await api.client.post(f"{PREFIX}/taxonomy/announcements", headers=manager)
        assert r.status_code == 202 and r.json() == {"version": 1}
        first, again = await stream.until(2)
        assert again["data"] == first["data"] and again["id"] != first["id"]
        # an import afterwards does not repeat it (this version was announced)
        await _import(api, t, demo_hsds_json(t, api.clock()))
        other = two_tenants.b  # and the other tenant's stream stays empty
        assert len(await stream.poll()) == 2
        nothing = _Stream(api, f"wk.{other}.social_map.taxonomy_changed.v1")
        try:
            assert await nothing.poll() == []
        finally:
            await nothing.close()
    finally:
        await stream.close()
