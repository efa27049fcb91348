"""Subscribers: each event class to its handler, with the platform's ack/nak/DLQ policy.
Handlers apply events once (`messaging.apply_once`); the consent projection is the shared
one (`wijkkracht_common.consent`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from wijkkracht_common.consent import register_consent_projection
from wijkkracht_common.events.envelope import EventData
from wijkkracht_common.events.identity import (
    NeighbourhoodsImported,
    OrganisationCreated,
    PersonErasureRequested,
    PersonExportRequested,
    PersonProfileUpdated,
    PersonRegistered,
    TenantCreated,
)
from wijkkracht_common.events.social_map import (
    EntriesImported,
    EntryHidden,
    EntryPublished,
    EntryUpdated,
    EntryVerificationDue,
    EntryVerified,
    EntryWentStale,
    TaxonomyChanged,
)
from wijkkracht_common.messaging import subscribe

from marketplace.service import erasure, export, projections
from marketplace.service.context import SERVICE, Context

HANDLERS: list[tuple[type[EventData], Callable[..., Awaitable[bool]]]] = [
    (NeighbourhoodsImported, projections.on_neighbourhoods),
    (PersonRegistered, projections.on_person),
    (PersonProfileUpdated, projections.on_person),
    (OrganisationCreated, projections.on_organisation),
    (TenantCreated, projections.on_tenant),
    (EntryPublished, projections.on_entry),
    (EntryUpdated, projections.on_entry),
    (EntriesImported, projections.on_entries_imported),
    (TaxonomyChanged, projections.on_taxonomy),
    (EntryVerified, projections.on_freshness),
    (EntryVerificationDue, projections.on_freshness),
    (EntryWentStale, projections.on_freshness),
    (EntryHidden, projections.on_freshness),
    (PersonErasureRequested, erasure.on_erasure_requested),
    (PersonExportRequested, export.on_export_requested),
]


def register_consumers(ctx: Context) -> None:
    runtime = ctx.runtime
    for event_cls, handler in HANDLERS:
        subscribe(
            runtime.broker,
            consumer_service=SERVICE,
            event_cls=event_cls,
            handler=partial(handler, ctx),
            js=lambda: runtime.js,
            max_deliver=runtime.settings.consumer_max_deliver,
            metrics=runtime.metrics,
        )
    register_consent_projection(
        runtime, consumer_service=SERVICE, max_deliver=runtime.settings.consumer_max_deliver
    )
