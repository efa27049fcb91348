"""Harness of the integration tests: the service in-process on the real embedded NATS and
database, with helpers that play the other services (identity's consent and erasure events,
questionnaires' responses, effect measurement's measurements) and read what this service
published."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
from fastapi import FastAPI
from learning_paths.main import PREFIX
from learning_paths.settings import Settings
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext
from wijkkracht_common.auth import Principal
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.identity import ConsentGranted, ConsentRevoked
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TEST_ISSUER_URL
from wijkkracht_common.testing.waiting import eventually

ORG = "welzijn-a"
OTHER_ORG = "welzijn-b"

MODULE_MD = """---
title: Stress de baas
summary: Korte module over stress.
theme: stress
dimensions: [mental_wellbeing]
---

---
id: wat-is-stress
kind: text
title: Wat is stress?
---
Stress is de reactie van je lichaam op spanning.

---
id: mijn-signalen
kind: exercise
title: Mijn signalen
---
Schrijf op waaraan u merkt dat u gespannen bent.

---
id: check
kind: quiz
title: Wat weet u nu?
questions:
  - question: Wat helpt tegen stress?
    options: [Bewegen, Doorwerken zonder pauze]
    answer: 1
---
"""


def module_md(title: str = "Stress de baas", steps: int = 3) -> str:
    """A module with `steps` text steps (ids s1..sN)."""
    parts = [f"---\ntitle: {title}\ntheme: stress\n---"]
    for n in range(1, steps + 1):
        parts.append(f"---\nid: s{n}\nkind: text\ntitle: Stap {n}\n---\nTekst van stap {n}.")
    return "\n\n".join(parts) + "\n"


def path_md(slug: str, title: str = "Grip op geld", theme: str = "household_budget") -> str:
    """A path of six items: step 1-2 own steps, 3 the module `slug`, 4-6 own steps."""
    return f"""---
title: {title}
theme: {theme}
entry_points:
  - key: start
    item: 1
    label: Nog niet bewust
  - key: aware
    item: 3
    label: Al bewust
  - key: acting
    item: 5
    label: Al bezig
---

---
id: p1
kind: text
title: Wat speelt er?
---
Tekst 1.

---
id: p2
kind: checklist
title: Mijn situatie
---
- [ ] Ik heb schulden
- [ ] Ik heb geen overzicht

---
id: p3
kind: module
module: {slug}
---

---
id: p4
kind: plan
title: Mijn plan
---

---
id: p5
kind: text
title: Volhouden
---
Tekst 5.

---
id: p6
kind: text
title: Terugkijken
---
Tekst 6.
"""


class FakeCredentials:
    """Plays identity's token endpoint for HTTP Basic: known (id, secret) → a client."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], Principal] = {}
        self.exchanges = 0

    def add(self, client_id: str, secret: str, tenant: str, org: str = ORG) -> None:
        self.clients[(client_id, secret)] = Principal(
            subject=f"client:{client_id}",
            tenant=tenant,
            client_id=client_id,
            orgs={org: frozenset({"service"})},
        )

    async def principal_for(self, client_id: str, secret: str) -> Principal | None:
        self.exchanges += 1
        return self.clients.get((client_id, secret))


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: TestIssuer
    nc: NatsClient
    js: JetStreamContext
    credentials: FakeCredentials

    def as_(self, tenant: str, sub: str, **orgs: list[str]) -> dict[str, str]:
        return self.issuer.headers(
            sub=sub, tenant=tenant, orgs={k.replace("_", "-"): v for k, v in orgs.items()}
        )

    def editor(self, tenant: str, org: str = ORG) -> dict[str, str]:
        return self.issuer.headers(sub="editor-1", tenant=tenant, orgs={org: ["content_editor"]})

    def professional(self, tenant: str, org: str = ORG, sub: str = "pro-1") -> dict[str, str]:
        return self.issuer.headers(sub=sub, tenant=tenant, orgs={org: ["professional"]})

    def resident(self, tenant: str, person: str, org: str = ORG) -> dict[str, str]:
        return self.issuer.headers(sub=person, tenant=tenant, orgs={org: ["resident"]})

    def admin(self, tenant: str) -> dict[str, str]:
        return self.issuer.headers(sub="admin-1", tenant=tenant, orgs={ORG: ["tenant_admin"]})

    async def publish(self, envelope: Envelope[Any]) -> None:
        await self.js.publish(
            envelope.nats_subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id},
        )

    async def module(
        self,
        tenant: str,
        *,
        slug: str = "stress",
        source: str = MODULE_MD,
        scope: str = "tenant",
        org: str = ORG,
        kind: str = "modules",
    ) -> dict[str, Any]:
        """Create and publish a module (or path); returns the published content."""
        made = await self.client.post(
            f"{PREFIX}/{kind}",
            json={"organisation": org, "slug": slug, "scope": scope, "sources": {"nl": source}},
            headers=self.editor(tenant, org),
        )
        assert made.status_code == 201, made.text
        published = await self.client.post(
            f"{PREFIX}/{kind}/{made.json()['id']}/publish", headers=self.editor(tenant, org)
        )
        assert published.status_code == 200, published.text
        body: dict[str, Any] = published.json()
        return body

    async def consent(
        self, tenant: str, person: str, org: str = ORG, *, granted: bool = True, version: int = 1
    ) -> None:
        cls = ConsentGranted if granted else ConsentRevoked
        await self.publish(
            new_event(
                cls(
                    person_id=person,
                    organisation_slug=org,
                    purpose="share_learning_progress",
                    version=version,
                ),
                tenant=tenant,
                subject=person,
                actor=person,
            )
        )

    async def respond(
        self,
        tenant: str,
        person: str,
        *,
        phases: dict[str, int] | None = None,
        scores: dict[str, float] | None = None,
        family: str = "effect-monitor",
        purpose: str = "measurement",
        organisation: str | None = None,
        response_id: str | None = None,
    ) -> str:
        response_id = response_id or new_event_id()
        await self.publish(
            new_event(
                ResponseSubmitted(
                    response_id=response_id,
                    person_id=person,
                    instrument_id=family,
                    family=family,
                    variant="standard",
                    version=1,
                    purpose=purpose,  # type: ignore[arg-type]
                    submitted_at=datetime.now(UTC),
                    dimension_scores=scores or {},
                    phases=phases or {},
                ),
                tenant=tenant,
                subject=response_id,
                actor=person,
                organisation=organisation,
            )
        )
        return response_id

    async def measure(self, tenant: str, person: str, response_id: str) -> str:
        measurement_id = new_event_id()
        await self.publish(
            new_event(
                MeasurementRecorded(
                    measurement_id=measurement_id,
                    response_id=response_id,
                    person_id=person,
                    trajectory_id=new_event_id(),
                    family="effect-monitor",
                    sequence=0,
                    recorded_at=datetime.now(UTC),
                ),
                tenant=tenant,
                subject=measurement_id,
                actor="system:effect_measurement",
            )
        )
        return measurement_id

    async def published(
        self, tenant: str, event: str = ">", *, producer: str = "learning_paths"
    ) -> list[dict[str, Any]]:
        """Every event `producer` published for `tenant` so far (JSON envelopes), however
        long a busy machine takes to deliver them: read until the consumer has none left."""
        subject = f"wk.{tenant}.{producer}.{event}"
        found: list[dict[str, Any]] = []
        try:
            sub = await self.js.subscribe(subject, ordered_consumer=True)
        except Exception:
            return found
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.3)
                except (TimeoutError, nats.errors.TimeoutError):
                    info = await sub.consumer_info()
                    if info.num_pending == 0 and sub.pending_msgs == 0:
                        break
                    continue
                found.append(json.loads(msg.data))
        finally:
            await sub.unsubscribe()
        return found

    async def wait_for_event(self, tenant: str, event: str, count: int = 1) -> list[dict[str, Any]]:
        return await self.wait_for_event_in(tenant, "learning_paths", event, count)

    async def wait_for_event_in(
        self, tenant: str, producer: str, event: str, count: int = 1
    ) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]]:
            found = await self.published(tenant, f"{event}.v1", producer=producer)
            return found if len(found) >= count else []

        return await eventually(enough)


def settings_for(nats_url: str, mongo_url: str, smtp_port: int = 1) -> Settings:
    return Settings(
        nats_url=nats_url,
        mongo_url=mongo_url,
        env="test",
        issuer=TEST_ISSUER_URL,
        outbox_poll_seconds=0.1,
        smtp_port=smtp_port,
        social_map_url="",
    )
