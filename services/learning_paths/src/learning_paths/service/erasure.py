"""The erasure contract (architecture §9): identity's `person_erasure_requested`.

In one transaction with the inbox claim (`messaging.apply_once`): the person's enrolments,
answers, placements, response facts, reminder address, cohort memberships and learning
records (xAPI statements) are deleted; each enrolment leaves its usage fact (no resident,
no enrolment id) so the usage figures stay as they were; consent states go, the access log
is unlinked, the person is remembered as erased (late events are dropped); the answer
`person_data_erased` carries the counts.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.events.learning_paths import LearningPathsPersonDataErased
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Database, Session

from learning_paths.adapters.repositories import Repository
from learning_paths.domain.cohorts import without_member
from learning_paths.domain.usage import UsageFact
from learning_paths.service.context import Context


async def erase_person(
    repo: Repository, *, tenant: str, person: str, actor: str | None
) -> list[Staged]:
    """The effect: delete, keep the usage facts, answer with counts."""
    enrolments = await repo.enrolments_of_person(person)
    await repo.add_usage_facts([UsageFact.of(e) for e in enrolments])
    cohorts = 0
    for cohort in await repo.cohorts_with_member(person):
        await repo.save_cohort(without_member(cohort, person))
        cohorts += 1
    erased = {
        "enrolments": await repo.delete_enrolments_of_person(person),
        "answers": await repo.delete_answers_of_person(person),
        "placements": await repo.delete_placements_of_person(person),
        "response_facts": await repo.delete_facts_of_person(person),
        "reminder_prefs": await repo.delete_reminder_prefs(person),
        "statements": await repo.delete_statements_of_person(person),
        "cohort_memberships": cohorts,
    }
    platform = await repo.forget_person(tenant, person)
    erased["consent_states"] = platform["consent_states"]
    answer = LearningPathsPersonDataErased(
        person_id=person,
        erased=erased,
        anonymised={
            "access_log": platform["access_log_anonymised"],
            "usage_facts": len(enrolments),
        },
    )
    return [new_event(answer, tenant=tenant, subject=person, actor=actor)]


async def on_erasure_requested(
    ctx: Context, envelope: Envelope[PersonErasureRequested], delivery: Delivery
) -> bool:
    person = envelope.data.person_id

    async def effect(db: Database[dict[str, Any]], session: Session) -> list[Staged]:
        return await erase_person(
            ctx.repos(db, session), tenant=envelope.tenant, person=person, actor=envelope.actor
        )

    # No `person=` here: this event is the one that makes the person erased.
    return await apply_once(ctx.runtime, envelope, delivery, effect)
