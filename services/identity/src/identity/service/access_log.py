"""The resident's access log: a projection of `AccessRecorded` events from every service,
applied once per event, and the resident's view of it (newest first)."""

from __future__ import annotations

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.domain.access_log import AccessRecord
from identity.service.context import Db, Identity
from identity.service.people import me


def access_record(envelope: Envelope[AccessRecorded]) -> AccessRecord:
    data = envelope.data
    return AccessRecord(
        id=envelope.id,
        at=envelope.time,
        resident=data.resident,
        service=data.service,
        actor=data.actor,
        on_behalf_of=data.on_behalf_of,
        action=data.action,
        resource=data.resource,
        reason=data.reason,
        trace_id=data.trace_id,
    )


async def on_access_recorded(
    ctx: Identity, envelope: Envelope[AccessRecorded], delivery: Delivery
) -> bool:
    """Consumer of `access.recorded` (every service, identity included)."""
    record = access_record(envelope)

    async def effect(db: Db, session: Session) -> list[Staged]:
        await ctx.within(db, session).access_log.add_projected(record)
        return []

    return await apply_once(ctx.runtime, envelope, delivery, effect)


async def own_log(
    ctx: Identity, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[AccessRecord], str | None]:
    """Who accessed my data, newest first, from every service (NEN 7513)."""
    person, _, _ = await me(ctx, principal)
    repos = await ctx.tenant(principal.tenant)
    return await repos.access_log.projected_page(person.id, limit=limit, cursor=cursor)
