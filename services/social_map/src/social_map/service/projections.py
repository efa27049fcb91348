"""Where other services' events are applied: identity's neighbourhood table and residents'
profiles, and questionnaire results (consents: the platform's one projection,
`wijkkracht_common.consent`; erasure: `service/erasure.py`; export: `service/export.py`).

Each handler applies its effect with `wijkkracht_common.messaging.apply_once`: the inbox
claim, the effect and any follow-up events commit in one transaction, so a redelivered event
is acked without a second effect; an event about a person passes `person=`, so it is dropped
once the person is erased here. The effects live in modules named after what they keep:
`neighbourhoods`, `residents`, `responses`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import (
    NeighbourhoodsImported,
    PersonProfileUpdated,
    PersonRegistered,
)
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.adapters.repositories import Repository
from social_map.service import neighbourhoods, residents, responses
from social_map.service.context import ServiceContext

RepositoryEffect = Callable[[Repository], Awaitable[Sequence[Staged]]]


async def apply_to_repository(
    ctx: ServiceContext,
    envelope: Envelope[Any],
    delivery: Delivery,
    effect: RepositoryEffect,
    *,
    person: str | None = None,
) -> bool:
    """`apply_once` with the effect given the tenant's repository inside the transaction;
    `person`: whom the event is about (dropped when erased)."""

    async def on_db(db: repo.Db, session: Session) -> Sequence[Staged]:
        return await effect(ctx.repo(db, session))

    return await apply_once(ctx.runtime, envelope, delivery, on_db, person=person)


async def on_neighbourhoods(
    ctx: ServiceContext, env: Envelope[NeighbourhoodsImported], delivery: Delivery
) -> bool:
    table = neighbourhoods.parse_neighbourhoods(env.data.neighbourhoods)

    async def effect(r: Repository) -> list[Staged]:
        return await neighbourhoods.replace_table(r, table)

    try:
        return await apply_to_repository(ctx, env, delivery, effect)
    finally:  # search's cached centroids (also when the transaction failed: harmless)
        ctx.centroids.drop(ctx.database_name(env.tenant))


async def on_person(
    ctx: ServiceContext,
    env: Envelope[PersonRegistered] | Envelope[PersonProfileUpdated],
    delivery: Delivery,
) -> bool:
    async def effect(r: Repository) -> list[Staged]:
        return await residents.save_profile(r, env.data, env.time)

    return await apply_to_repository(ctx, env, delivery, effect, person=env.data.person_id)


async def on_response(
    ctx: ServiceContext, env: Envelope[ResponseSubmitted], delivery: Delivery
) -> bool:
    async def effect(r: Repository) -> list[Staged]:
        return await responses.save_scores(r, env.data)

    # anonymous responses (no person) are not kept: nothing to drop either
    return await apply_to_repository(ctx, env, delivery, effect, person=env.data.person_id)
