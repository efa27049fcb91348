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
from learning_paths.service.placement import Placer, on_measurement, on_response

Db = Database[dict[str, Any]]


async def _erased(db: Db, tenant: str, persons: set[str], session: Session) -> set[str]:
    return {p for p in persons if await erasure.is_erased(db, tenant, p, session=session)}


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
            placer = Placer(repo)
            persons = {e.data.person_id for e in envelopes if e.data.person_id}
            erased = await _erased(db, tenant, persons, session)
            events: list[Staged] = []
            for envelope in envelopes:
                person = envelope.data.person_id
                if person is None or person in erased:
                    continue
                await surveys.on_survey(repo, envelope)
                events.extend(await on_response(repo, envelope, self.ctx.now(), placer))
            return None, events

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
            placer = Placer(repo)
            erased = await _erased(db, tenant, {e.data.person_id for e in envelopes}, session)
            events: list[Staged] = []
            for envelope in envelopes:
                if envelope.data.person_id in erased:
                    continue
                events.extend(await on_measurement(repo, envelope, self.ctx.now(), placer))
            return None, events

        await self.ctx.runtime.commit(tenant, work)
        return {}
