"""The marketplace running in-process on the real NATS and database, with helpers that play
the other services (identity's and the social map's events) and residents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from marketplace.adapters.repositories import Repository
from marketplace.demo.neighbourhoods import as_identity_rows
from marketplace.demo.taxonomy import default_taxonomy
from marketplace.main import PREFIX
from marketplace.service.acting import BROKER_PURPOSE
from marketplace.service.context import Context
from nats.js.client import JetStreamContext
from wijkkracht_common import consent
from wijkkracht_common.events.envelope import Envelope, EventData, new_event
from wijkkracht_common.events.identity import NeighbourhoodsImported, PersonRegistered
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import MailSink
from wijkkracht_common.testing.waiting import eventually

__all__ = ["PREFIX", "FakeClock", "Market", "person"]

#: PC4s of the demo table: DM01 9903, DM02 9904, DM03 9907, DM04 9909, DM05 9912, DM06 9914.
PC4 = {
    "DM01": "9903",
    "DM02": "9904",
    "DM03": "9907",
    "DM04": "9909",
    "DM05": "9912",
    "DM06": "9914",
}


def person() -> str:
    return str(uuid.uuid4())


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: float) -> datetime:
        self.now = self.now + timedelta(days=days)
        return self.now


@dataclass
class Market:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: TestIssuer
    clock: FakeClock
    js: JetStreamContext
    mongo_url: str
    mail: MailSink

    @property
    def ctx(self) -> Context:
        ctx: Context = self.app.state.ctx
        return ctx

    def h(self, tenant: str, sub: str, **orgs: list[str]) -> dict[str, str]:
        """Headers of a person; `orgs` as keyword arguments (`welzijn_demo=["broker"]`)."""
        return self.issuer.headers(
            sub=sub, tenant=tenant, orgs={k.replace("_", "-"): v for k, v in orgs.items()}
        )

    async def publish(self, data: EventData, tenant: str, subject: str = "s") -> Envelope[Any]:
        envelope: Envelope[Any] = new_event(data, tenant=tenant, subject=subject, actor="test")
        await self.js.publish(
            envelope.nats_subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id},
        )
        return envelope

    async def repo(self, tenant: str) -> Repository:
        return await self.ctx.reader(tenant)

    async def setup(self, tenant: str, people: dict[str, str]) -> None:
        """Identity's neighbourhood table, the social map's taxonomy and residents (person id
        → neighbourhood code), through the events, and waits until the projections hold
        them."""
        await self.publish(NeighbourhoodsImported(neighbourhoods=as_identity_rows()), tenant)

        async def table() -> bool:
            return len(await (await self.repo(tenant)).neighbourhoods()) == 6

        await eventually(table)
        await self.publish(default_taxonomy(), tenant, subject="taxonomy")

        async def taxonomy() -> bool:
            return await (await self.repo(tenant)).taxonomy() is not None

        await eventually(taxonomy)
        for pid, code in people.items():
            await self.publish(
                PersonRegistered(person_id=pid, pc4=PC4[code], neighbourhood_code=code),
                tenant,
                subject=pid,
            )

        async def residents() -> bool:
            r = await self.repo(tenant)
            return all([await r.resident(p) is not None for p in people])

        await eventually(residents)

    async def grant_broker_consent(self, tenant: str, resident: str, organisation: str) -> None:
        """The resident's consent for the broker's organisation, as identity's projection
        would hold it. (`marketplace_broker` is not yet one of identity's consent purposes,
        so the event cannot travel yet: the projection's own write path is used.)"""
        db = await self.ctx.db(tenant)
        await consent.apply_change(
            db,
            consent.ConsentState(
                person_id=resident,
                organisation=organisation,
                purpose=BROKER_PURPOSE,
                granted=True,
                version=1,
                at=datetime.now(UTC),
            ),
            session=None,
        )

    async def post(self, tenant: str, sub: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return await self.client.post(
            f"{PREFIX}/posts", json=body, headers=self.h(tenant, sub, **kw)
        )


def request_body(category: str = "administratie", **extra: Any) -> dict[str, Any]:
    return {"kind": "request", "category": category, "text": "Wie helpt mij?", **extra}
