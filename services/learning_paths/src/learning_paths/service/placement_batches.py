"""Responses and measurements applied a batch at a time (`batch_consumer.subscribe_batch`):
one transaction per batch and tenant — the inbox claims, survey counts, response facts,
placements and their `path_placed` events — instead of one per event, so placement keeps
up with 100 measurements per second. Events about erased persons are dropped, as
`apply_once(..., person=)` would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wijkkracht_common import erasure, inbox
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Database, Session

from learning_paths.service import surveys
from learning_paths.service.context import Context
from learning_paths.service.placement import measurements_arrived, responses_arrived

Db = Database[dict[str, Any]]


async def _erased(db: Db, tenant: str, persons: set[str], session: Session) -> set[str]:
    """The erased among `persons`: one query for the whole batch."""
    return await erasure.erased_among(db, tenant, persons, session=session)


# An empty batch (all about erased persons) stages nothing and places nobody.


class ResponseBatches:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(
        self, _db: Db, envelopes: Sequence[Envelope[ResponseSubmitted]], durable: str
    ) -> Mapping[str, str]:
        tenant = envelopes[0].tenant

        async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
            await inbox.claim_many(db, durable, [e.id for e in envelopes], session=session)
            repo = self.ctx.repos(db, session)
            persons = {e.data.person_id for e in envelopes if e.data.person_id}
            erased = await _erased(db, tenant, persons, session)
            kept = [e for e in envelopes if e.data.person_id and e.data.person_id not in erased]
            for envelope in kept:
                await surveys.on_survey(repo, envelope)
            return None, await responses_arrived(repo, kept, self.ctx.now())

        await self.ctx.runtime.commit(tenant, work)
        return {}


class MeasurementBatches:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(
        self, _db: Db, envelopes: Sequence[Envelope[MeasurementRecorded]], durable: str
    ) -> Mapping[str, str]:
        tenant = envelopes[0].tenant

        async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
            await inbox.claim_many(db, durable, [e.id for e in envelopes], session=session)
            repo = self.ctx.repos(db, session)
            erased = await _erased(db, tenant, {e.data.person_id for e in envelopes}, session)
            kept = [e for e in envelopes if e.data.person_id not in erased]
            return None, await measurements_arrived(repo, kept, self.ctx.now())

        await self.ctx.runtime.commit(tenant, work)
        return {}
