"""The resident's access log: a projection of `AccessRecorded` events from every service."""

from __future__ import annotations

from typing import Any

from wijkkracht_common import inbox
from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.messaging import Delivery

from identity.adapters import schema as c
from identity.service.context import Identity


def projection_handler(ctx: Identity) -> Any:
    async def handle(envelope: Envelope[AccessRecorded], delivery: Delivery) -> bool:
        db = await ctx.tenant_db(envelope.tenant)
        data = envelope.data

        async def apply(session: Any) -> bool:
            if not await inbox.claim(db, delivery.durable, envelope.id, session=session):
                return False
            await db[c.ACCESS_PROJECTION].insert_one(
                {
                    "_id": envelope.id,
                    "at": envelope.time,
                    "resident": data.resident,
                    "service": data.service,
                    "actor": data.actor,
                    "on_behalf_of": data.on_behalf_of,
                    "action": data.action,
                    "resource": data.resource,
                    "reason": data.reason,
                    "trace_id": data.trace_id,
                },
                session=session,
            )
            return True

        applied: bool = await ctx.runtime.storage.in_transaction(db, apply)
        return applied

    return handle
