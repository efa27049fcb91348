"""Subscribers: identity's consents, tenants, erasure and export requests; effect
measurement's follow-ups.

Consent is the platform's one projection (`wijkkracht_common.consent.
register_consent_projection`). Every other event is applied through
`wijkkracht_common.messaging.apply_once` (by the unit of work, `ctx.uow.apply_once`): the inbox
claim, the effect and its follow-up events in one transaction, so a redelivered event has no
second effect; events about a person pass `person=`, so nothing is written back after the
person's erasure. The effects live in the service layer, one module each: `tenant_registry`,
`erasure`, `followups`; the export's part (`export`) through `wijkkracht_common.export`.

Once the service is stopping, an event whose transaction has not begun is refused and its
message delivered again (`wijkkracht_common.intake`: `subscribe` marks each handler's
transactions as a consumed event's, the runtime's commit refuses them).
"""

from __future__ import annotations

from typing import Any, TypeVar

from wijkkracht_common.consent import register_consent_projection
from wijkkracht_common.errors import NotFound
from wijkkracht_common.events.effect_measurement import FollowupDue
from wijkkracht_common.events.envelope import Envelope, EventData
from wijkkracht_common.events.identity import (
    PersonErasureRequested,
    PersonExportRequested,
    TenantCreated,
)
from wijkkracht_common.messaging import Delivery, PermanentError, subscribe
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.tenancy import PLATFORM_TENANT

from questionnaires.service import erasure, export, followups, instruments, tenant_registry
from questionnaires.service.context import SERVICE, Context

E = TypeVar("E", bound=EventData)


def register_consumers(ctx: Context, runtime: ServiceRuntime) -> None:
    uow = ctx.uow
    max_deliver = ctx.settings.consumer_max_deliver
    # The durable names stay `questionnaires__identity_consent_{granted,revoked}_v1`.
    register_consent_projection(runtime, consumer_service=SERVICE, max_deliver=max_deliver)

    async def on_tenant(envelope: Envelope[TenantCreated], delivery: Delivery) -> bool:
        slug = envelope.data.tenant_slug
        if slug == PLATFORM_TENANT:
            raise PermanentError("tenant slug 'platform' is reserved")
        applied = await uow.apply_once(
            envelope,
            delivery,
            tenant_registry.tenant_created(ctx, slug),
            database=PLATFORM_TENANT,
        )
        # Also after a redelivery: publishing the shipped instruments is idempotent, and a
        # crash between the two steps must not leave the tenant without them.
        await instruments.ensure_tenant(ctx, slug)
        return applied

    async def on_erasure(envelope: Envelope[PersonErasureRequested], delivery: Delivery) -> bool:
        effect = erasure.erase_person(
            ctx, envelope.tenant, person_id=envelope.data.person_id, actor=envelope.actor
        )
        return await uow.apply_once(envelope, delivery, effect)

    async def on_export(envelope: Envelope[PersonExportRequested], delivery: Delivery) -> bool:
        return await export.contribute(ctx, runtime, envelope, delivery)

    async def on_followup(envelope: Envelope[FollowupDue], delivery: Delivery) -> bool:
        d = envelope.data
        try:
            effect = await followups.followup_due(
                ctx,
                envelope.tenant,
                person_id=d.person_id,
                instrument_id=d.instrument_id,
                trajectory_id=d.trajectory_id,
                due_at=d.due_at,
                organisation=envelope.organisation,
            )
        except NotFound as error:  # an instrument the tenant does not have: can never apply
            raise PermanentError(f"unknown instrument {d.instrument_id!r}") from error
        return await uow.apply_once(envelope, delivery, effect, person=d.person_id)

    handlers: list[tuple[type[Any], Any]] = [
        (TenantCreated, on_tenant),
        (PersonErasureRequested, on_erasure),
        (PersonExportRequested, on_export),
        (FollowupDue, on_followup),
    ]
    for event_cls, handler in handlers:
        subscribe(
            runtime.broker,
            consumer_service=SERVICE,
            event_cls=event_cls,
            handler=handler,
            js=lambda: runtime.js,
            metrics=runtime.metrics,
            max_deliver=max_deliver,
        )
