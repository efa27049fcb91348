"""Effect of identity's `person_erasure_requested` (architecture §9, README "Flows").

In-progress responses, invitations and the consent projection are deleted; submitted
responses are anonymised (`ResponseRecord.without_person`: kept without the person for
anonymous statistics) and their share markers removed; then the counts are published as
`person_data_erased`, in the same transaction. Access-log records are kept (NEN 7513
retention). A new request for the same person (a new event) finds nothing left: its counts are
zero.
"""

from __future__ import annotations

from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataErased
from wijkkracht_common.outbox import Staged

from questionnaires.adapters.repositories import Effect, Repositories
from questionnaires.service import instruments
from questionnaires.service.context import Context


def erase_person(ctx: Context, tenant: str, *, person_id: str, actor: str | None) -> Effect:
    """The effect of one erasure request (applied once by the consumer)."""

    async def effect(repos: Repositories) -> list[Staged]:
        in_progress = await repos.responses.delete_in_progress_of(person_id)
        submitted = await repos.responses.submitted_of(person_id)
        for record in submitted:
            definition = await instruments.definition(
                ctx, tenant, record.response.instrument_id, record.response.version
            )
            types = {i.link_id: i.answer_type for i in definition.items()}
            await repos.responses.store_anonymised(record.without_person(types))
            await repos.shares.delete_of_response(record.id)
        invitations = await repos.invitations.delete_of_person(person_id)
        consents = await repos.consents.forget_person(person_id)
        event = new_event(
            QuestionnairesPersonDataErased(
                person_id=person_id,
                erased={
                    "responses_in_progress": in_progress,
                    "invitations": invitations,
                    "consents": consents,
                },
                anonymised={"responses": len(submitted)},
            ),
            tenant=tenant,
            subject=person_id,
            actor=actor,
        )
        return [event]

    return effect


__all__ = ["erase_person"]
