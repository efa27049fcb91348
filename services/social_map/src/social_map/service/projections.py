"""Effects of other services' events: local projections, each applied at most once.

Every effect is stored in the same transaction as the inbox claim of the event
(`wijkkracht_common.inbox.claim`), so a redelivered event is acked without a second effect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from wijkkracht_common.events.envelope import Envelope, EventData, new_event, new_event_id
from wijkkracht_common.events.identity import (
    ConsentGranted,
    ConsentRevoked,
    NeighbourhoodsImported,
    PersonErasureRequested,
    PersonProfileUpdated,
    PersonRegistered,
)
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.events.social_map import SocialMapPersonDataErased
from wijkkracht_common.inbox import claim
from wijkkracht_common.messaging import Delivery, PermanentError
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.domain.freshness import without_reporter
from social_map.domain.geo import Neighbourhood
from social_map.service.context import ServiceContext
from social_map.service.entries import write_entry

Effect = Callable[[repo.Db, Session], Awaitable[list[Envelope[Any]]]]


async def apply_once(
    ctx: ServiceContext, envelope: Envelope[Any], delivery: Delivery, effect: Effect
) -> bool:
    async def work(db: repo.Db, session: Session) -> tuple[bool, list[Envelope[Any]]]:
        if not await claim(db, delivery.durable, envelope.id, session=session):
            return False, []
        return True, await effect(db, session)

    return await ctx.runtime.commit(envelope.tenant, work)


def parse_neighbourhoods(rows: list[dict[str, object]]) -> list[Neighbourhood]:
    """Identity's rows (code, name, lat, lon, postcodes); older spellings accepted too."""
    table = []
    for row in rows:
        pcs = row.get("postcodes", row.get("pc4", []))
        if isinstance(pcs, str):
            pcs = pcs.replace(";", " ").split()
        try:
            table.append(
                Neighbourhood(
                    code=row.get("code"),
                    name=row.get("name"),
                    centroid_lat=row.get("lat", row.get("centroid_lat")),
                    centroid_lon=row.get("lon", row.get("centroid_lon")),
                    pc4=[str(p) for p in pcs] if isinstance(pcs, list | tuple) else pcs,
                )
            )
        except ValidationError as error:
            raise PermanentError(f"invalid neighbourhood row: {error}") from error
    return table


async def on_neighbourhoods(
    ctx: ServiceContext, env: Envelope[NeighbourhoodsImported], delivery: Delivery
) -> bool:
    table = parse_neighbourhoods(env.data.neighbourhoods)

    async def effect(db: repo.Db, session: Session) -> list[Envelope[Any]]:
        await repo.replace_neighbourhoods(db, table, session=session)
        return []

    try:
        return await apply_once(ctx, env, delivery, effect)
    finally:  # search's cached centroids (also when the transaction failed: harmless)
        ctx.centroids.drop(ctx.runtime.storage.database_name(env.tenant))


async def on_person(
    ctx: ServiceContext,
    env: Envelope[PersonRegistered] | Envelope[PersonProfileUpdated],
    delivery: Delivery,
) -> bool:
    data = env.data

    async def effect(db: repo.Db, session: Session) -> list[Envelope[Any]]:
        if isinstance(data, PersonRegistered) and data.kind != "resident":
            return []
        await db[repo.RESIDENTS].update_one(
            {"_id": data.person_id},
            {
                "$set": {
                    "pc4": data.pc4,
                    "neighbourhood_code": data.neighbourhood_code,
                    "age_band": data.age_band,
                    "at": env.time,
                }
            },
            upsert=True,
            session=session,
        )
        return []

    return await apply_once(ctx, env, delivery, effect)


async def on_consent(
    ctx: ServiceContext,
    env: Envelope[ConsentGranted] | Envelope[ConsentRevoked],
    delivery: Delivery,
) -> bool:
    data = env.data
    active = isinstance(data, ConsentGranted)

    async def effect(db: repo.Db, session: Session) -> list[Envelope[Any]]:
        await db[repo.CONSENTS].update_one(
            {"_id": f"{data.person_id}|{data.organisation_slug}|{data.purpose}"},
            {
                "$set": {
                    "person_id": data.person_id,
                    "organisation": data.organisation_slug,
                    "purpose": data.purpose,
                    "active": active,
                    "at": env.time,
                }
            },
            upsert=True,
            session=session,
        )
        return []

    return await apply_once(ctx, env, delivery, effect)


async def on_response(
    ctx: ServiceContext, env: Envelope[ResponseSubmitted], delivery: Delivery
) -> bool:
    """Keep the dimension scores of a resident's response (anonymous ones have no owner)."""
    data = env.data

    async def effect(db: repo.Db, session: Session) -> list[Envelope[Any]]:
        if data.person_id is None or not data.dimension_scores:
            return []
        await db[repo.RESPONSES].replace_one(
            {"_id": data.response_id},
            {
                "_id": data.response_id,
                "person_id": data.person_id,
                "scores": data.dimension_scores,
                "family": data.family,
                "submitted_at": data.submitted_at,
            },
            upsert=True,
            session=session,
        )
        return []

    return await apply_once(ctx, env, delivery, effect)


async def on_erasure(
    ctx: ServiceContext, env: Envelope[PersonErasureRequested], delivery: Delivery
) -> bool:
    person = env.data.person_id
    # One random id for all of the person's reports: they stay one reporter in the counts
    # (freshness), and nothing links them to the person any more.
    replacement = f"erased-{new_event_id()}"

    async def effect(db: repo.Db, session: Session) -> list[Envelope[Any]]:
        erased = {}
        for coll, query in (
            (repo.RESIDENTS, {"_id": person}),
            (repo.RESPONSES, {"person_id": person}),
            (repo.CONSENTS, {"person_id": person}),
        ):
            result = await db[coll].delete_many(query, session=session)
            erased[coll] = int(result.deleted_count)
        # Reports keep the entry's history but lose who made them: the tasks, and the
        # reports inside the entries (every report has a task naming its entry).
        reported = {
            d["entry_id"]
            async for d in db[repo.TASKS].find(
                {"reporter": person}, projection={"entry_id": 1}, session=session
            )
        }
        anonymised = await db[repo.TASKS].update_many(
            {"reporter": person}, {"$set": {"reporter": replacement}}, session=session
        )
        entries = await _anonymise_reports(
            ctx, db, env.tenant, sorted(reported), person, replacement, session
        )
        event = new_event(
            SocialMapPersonDataErased(
                person_id=person,
                erased=erased,
                anonymised={repo.TASKS: int(anonymised.modified_count), repo.ENTRIES: entries},
            ),
            tenant=env.tenant,
            subject=person,
            actor=env.actor,
        )
        return [event]

    return await apply_once(ctx, env, delivery, effect)


async def _anonymise_reports(
    ctx: ServiceContext,
    db: repo.Db,
    tenant: str,
    entry_ids: list[str],
    person: str,
    replacement: str,
    session: Session,
) -> int:
    """Rewrite the person's reports inside entries; returns how many entries changed."""
    view = await ctx.view(tenant)
    changed = 0
    for entry_id in entry_ids:
        current = await repo.get_entry(db, entry_id, session=session)
        if current is None or not any(r.reporter == person for r in current.entry.outdated_reports):
            continue
        await write_entry(
            db,
            view,
            without_reporter(current.entry, person, replacement),
            owner_slug=current.owner_slug,
            version=current.version + 1,
            now=ctx.now(),
            session=session,
            freshness=current.freshness,
        )
        changed += 1
    return changed


HANDLERS: list[tuple[type[EventData], Callable[..., Awaitable[bool]]]] = [
    (NeighbourhoodsImported, on_neighbourhoods),
    (PersonRegistered, on_person),
    (PersonProfileUpdated, on_person),
    (ConsentGranted, on_consent),
    (ConsentRevoked, on_consent),
    (ResponseSubmitted, on_response),
    (PersonErasureRequested, on_erasure),
]
