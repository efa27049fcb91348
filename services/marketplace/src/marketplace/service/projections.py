"""Other services' events the marketplace keeps a projection of, each applied once
(`messaging.apply_once`): identity's neighbourhood table, residents' neighbourhoods,
organisations and the tenant's k-anonymity; the social map's entries (categories, places,
freshness; one by one and in import batches) and its taxonomy. Events about a person pass
`person=` so nothing is written back after the person's erasure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import ValidationError
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import (
    NeighbourhoodsImported,
    OrganisationCreated,
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
    ImportedEntryFacts,
    TaxonomyChanged,
)
from wijkkracht_common.messaging import Delivery, PermanentError, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, Repository
from marketplace.domain.categories import Category
from marketplace.domain.matching import MapEntry
from marketplace.domain.places import Neighbourhood, NeighbourhoodTable
from marketplace.domain.residents import Organisation, ResidentProfile
from marketplace.service.balance import K_ANONYMITY
from marketplace.service.context import Context

RepositoryEffect = Callable[[Repository], Awaitable[Sequence[Staged]]]


async def _apply(
    ctx: Context,
    env: Envelope[Any],
    delivery: Delivery,
    effect: RepositoryEffect,
    *,
    person: str | None = None,
) -> bool:
    async def on_db(db: Db, session: Session) -> Sequence[Staged]:
        return await effect(ctx.repo(db, session))

    return await apply_once(ctx.runtime, env, delivery, on_db, person=person)


def parse_neighbourhoods(rows: list[dict[str, object]]) -> list[Neighbourhood]:
    """Identity's rows (code, name, lat, lon, postcodes)."""
    table = []
    for row in rows:
        pcs = row.get("postcodes", row.get("pc4", []))
        if isinstance(pcs, str):
            pcs = pcs.replace(";", " ").split()
        try:
            table.append(
                Neighbourhood(
                    code=str(row["code"]),
                    name=str(row.get("name", row["code"])),
                    lat=float(row.get("lat", row.get("centroid_lat")) or 0.0),  # type: ignore[arg-type]
                    lon=float(row.get("lon", row.get("centroid_lon")) or 0.0),  # type: ignore[arg-type]
                    pc4s=tuple(str(p) for p in pcs) if isinstance(pcs, list | tuple) else (),
                )
            )
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            raise PermanentError(f"invalid neighbourhood row: {error}") from error
    return table


async def on_neighbourhoods(
    ctx: Context, env: Envelope[NeighbourhoodsImported], delivery: Delivery
) -> bool:
    table = parse_neighbourhoods(env.data.neighbourhoods)

    async def effect(r: Repository) -> list[Staged]:
        await r.replace_neighbourhoods(table)
        return []

    try:
        return await _apply(ctx, env, delivery, effect)
    finally:  # this process's cached table catches up (also after a failure: harmless)
        ctx.invalidate(env.tenant)


async def on_person(
    ctx: Context,
    env: Envelope[PersonRegistered] | Envelope[PersonProfileUpdated],
    delivery: Delivery,
) -> bool:
    data = env.data
    at = env.time.timestamp()

    async def effect(r: Repository) -> list[Staged]:
        before = await r.resident(data.person_id)
        if before is not None and before.at > at:
            return []  # a newer profile is kept
        code = data.neighbourhood_code
        if code is None and data.pc4 is not None:
            hood = NeighbourhoodTable(await r.neighbourhoods()).of_pc4(data.pc4)
            code = hood.code if hood else None
        await r.save_resident(ResidentProfile(data.person_id, code, data.pc4, data.age_band, at))
        volunteer = await r.volunteer(data.person_id)
        if volunteer is not None and volunteer.neighbourhood_code != code:
            # matching reads the volunteer's neighbourhood from the volunteer's record
            await r.save_volunteer(volunteer.model_copy(update={"neighbourhood_code": code}))
        return []

    return await _apply(ctx, env, delivery, effect, person=data.person_id)


async def on_organisation(
    ctx: Context, env: Envelope[OrganisationCreated], delivery: Delivery
) -> bool:
    async def effect(r: Repository) -> list[Staged]:
        await r.save_organisation(Organisation(env.data.organisation_slug, env.data.kind))
        return []

    return await _apply(ctx, env, delivery, effect)


async def on_tenant(ctx: Context, env: Envelope[TenantCreated], delivery: Delivery) -> bool:
    async def effect(r: Repository) -> list[Staged]:
        await r.set_config(K_ANONYMITY, env.data.k_anonymity)
        return []

    return await _apply(ctx, env, delivery, effect)


EntryContent = EntryPublished | EntryUpdated | ImportedEntryFacts


async def _store_content(
    r: Repository, data: EntryContent, *, active: bool, state: str | None, at: float
) -> None:
    """An entry's content (categories, places, active or not), unless a newer revision is
    stored; `state` None keeps the stored freshness."""
    before = await r.map_entry(data.entry_id)
    if before is not None and before.revision > data.revision:
        return
    if state is None and before is not None:
        state, at = before.state, before.state_at
    await r.save_map_entry(
        MapEntry(
            entry_id=data.entry_id,
            organization_id=data.organization_id,
            owner_organisation=data.owner_organisation,
            kind=data.kind,
            categories=tuple(data.category_codes),
            pc4s=tuple(data.pc4s),
            state=state or "fresh",
            active=active,
            revision=data.revision,
            state_at=at,
        )
    )


async def on_entry(
    ctx: Context,
    env: Envelope[EntryPublished] | Envelope[EntryUpdated],
    delivery: Delivery,
) -> bool:
    """An entry's content; its freshness is kept."""
    data = env.data
    active = isinstance(data, EntryPublished) or data.status == "active"

    async def effect(r: Repository) -> list[Staged]:
        await _store_content(r, data, active=active, state=None, at=env.time.timestamp())
        return []

    return await _apply(ctx, env, delivery, effect)


async def on_entries_imported(
    ctx: Context, env: Envelope[EntriesImported], delivery: Delivery
) -> bool:
    """A batch of an HSDS import: each new or changed entry with its facts (categories,
    places, status, freshness), so no entry has to be fetched."""
    at = env.time.timestamp()

    async def effect(r: Repository) -> list[Staged]:
        for data in env.data.entries:
            active = data.status == "active"
            await _store_content(r, data, active=active, state=data.freshness, at=at)
        return []

    return await _apply(ctx, env, delivery, effect)


async def on_taxonomy(ctx: Context, env: Envelope[TaxonomyChanged], delivery: Delivery) -> bool:
    """The social map's whole tree: kept when its version is at least the one held (the same
    version repeats the same content; a lower one arrived late)."""
    data = env.data
    terms = [
        Category(
            t.code,
            t.parent_code,
            t.labels.get("nl") or t.labels.get("en") or t.code,
            t.labels.get("en") or t.labels.get("nl") or t.code,
            tuple(t.dimensions),
        )
        for t in data.terms
    ]

    async def effect(r: Repository) -> list[Staged]:
        held = await r.taxonomy()
        if held is None or held[0] <= data.version:
            await r.save_taxonomy(data.version, terms)
        return []

    try:
        return await _apply(ctx, env, delivery, effect)
    finally:  # this process's cached taxonomy catches up (also after a failure: harmless)
        ctx.invalidate(env.tenant)


FreshnessEvent = (
    Envelope[EntryVerified]
    | Envelope[EntryVerificationDue]
    | Envelope[EntryWentStale]
    | Envelope[EntryHidden]
)


async def on_freshness(ctx: Context, env: FreshnessEvent, delivery: Delivery) -> bool:
    """Fresh, due, stale or hidden: only fresh and due entries are ever suggested."""
    data = env.data
    state = "fresh" if isinstance(data, EntryVerified) else data.state
    at = env.time.timestamp()

    async def effect(r: Repository) -> list[Staged]:
        before = await r.map_entry(data.entry_id)
        if before is not None and (data.revision, at) < (before.revision, before.state_at):
            return []
        # Without content yet (its `entry_published` is still on its way, or an imported
        # entry) the state is kept for when it comes; no categories: never suggested.
        await r.save_map_entry(
            MapEntry(
                entry_id=data.entry_id,
                organization_id=data.organization_id,
                owner_organisation=data.owner_organisation,
                kind=before.kind if before else "service",
                categories=before.categories if before else (),
                pc4s=before.pc4s if before else (),
                state=state,
                active=before.active if before else True,
                revision=max(before.revision if before else 0, data.revision),
                state_at=at,
            )
        )
        return []

    return await _apply(ctx, env, delivery, effect)
