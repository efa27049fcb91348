"""The erasure contract (architecture §9): delete the person's data, answer with counts."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.events.learning_paths import LearningPathsPersonDataErased
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Database, Session

from learning_paths.service.context import Context


async def on_erasure_requested(
    ctx: Context, envelope: Envelope[PersonErasureRequested], delivery: Delivery
) -> bool:
    person = envelope.data.person_id

    async def effect(db: Database[dict[str, Any]], session: Session) -> list[Staged]:
        deleted = await ctx.bookmarks(db, session).delete_of_person(person)
        answer = LearningPathsPersonDataErased(person_id=person, erased={"bookmarks": deleted})
        return [new_event(answer, tenant=envelope.tenant, subject=person, actor=envelope.actor)]

    return await apply_once(ctx.runtime, envelope, delivery, effect)
