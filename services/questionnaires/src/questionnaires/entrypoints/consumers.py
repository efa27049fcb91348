"""Subscribers: identity's consents, tenants and erasure requests; effect measurement's
follow-ups. Each handler claims the event in the same transaction as its effect."""

from __future__ import annotations

from typing import Any

from wijkkracht_common import inbox
from wijkkracht_common.events.effect_measurement import FollowupDue
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import (
    ConsentGranted,
    ConsentRevoked,
    PersonErasureRequested,
    TenantCreated,
)
from wijkkracht_common.messaging import Delivery, PermanentError, subscribe
from wijkkracht_common.storage import Database, Session
from wijkkracht_common.tenancy import PLATFORM_TENANT

from questionnaires.service import invitations, projections
from questionnaires.service.context import SERVICE, Context


def _claim(delivery: Delivery, envelope: Envelope[Any]) -> projections.Claim:
    async def claim(db: Database[dict[str, Any]], session: Session) -> bool:
        return await inbox.claim(db, delivery.durable, envelope.id, session=session)

    return claim


def register_consumers(ctx: Context) -> None:
    runtime = ctx.runtime

    async def on_granted(envelope: Envelope[ConsentGranted], delivery: Delivery) -> bool:
        d = envelope.data
        return await projections.consent_changed(
            ctx,
            envelope.tenant,
            person_id=d.person_id,
            organisation=d.organisation_slug,
            purpose=d.purpose,
            granted=True,
            at=envelope.time,
            claim=_claim(delivery, envelope),
        )

    async def on_revoked(envelope: Envelope[ConsentRevoked], delivery: Delivery) -> bool:
        d = envelope.data
        return await projections.consent_changed(
            ctx,
            envelope.tenant,
            person_id=d.person_id,
            organisation=d.organisation_slug,
            purpose=d.purpose,
            granted=False,
            at=envelope.time,
            claim=_claim(delivery, envelope),
        )

    async def on_tenant(envelope: Envelope[TenantCreated], delivery: Delivery) -> bool:
        slug = envelope.data.tenant_slug
        if slug == PLATFORM_TENANT:
            raise PermanentError("tenant slug 'platform' is reserved")
        return await projections.tenant_created(ctx, slug, _claim(delivery, envelope))

    async def on_erasure(envelope: Envelope[PersonErasureRequested], delivery: Delivery) -> bool:
        return await projections.erase_person(
            ctx,
            envelope.tenant,
            person_id=envelope.data.person_id,
            actor=envelope.actor,
            claim=_claim(delivery, envelope),
        )

    async def on_followup(envelope: Envelope[FollowupDue], delivery: Delivery) -> bool:
        d = envelope.data
        try:
            return await invitations.create_followup(
                ctx,
                envelope.tenant,
                person_id=d.person_id,
                instrument_id=d.instrument_id,
                trajectory_id=d.trajectory_id,
                due_at=d.due_at,
                organisation=envelope.organisation,
                claim=_claim(delivery, envelope),
            )
        except Exception as error:
            if getattr(error, "status", None) == 404:  # unknown instrument: can never apply
                raise PermanentError(f"unknown instrument {d.instrument_id!r}") from error
            raise

    handlers: list[tuple[type[Any], Any]] = [
        (ConsentGranted, on_granted),
        (ConsentRevoked, on_revoked),
        (TenantCreated, on_tenant),
        (PersonErasureRequested, on_erasure),
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
            max_deliver=ctx.settings.consumer_max_deliver,
        )
