"""Effect of identity's `person_erasure_requested` (architecture §9, README "Flows").

In one transaction with the inbox claim, nothing that names or links back to the person is
left in the service's database:
- the person's responses are deleted, submitted or not (answers and scores: no anonymised
  copy is kept), with their share markers;
- the person's invitations are deleted with their e-mail links and the mail to their
  addresses, also an e-mail invitation whose response the person attached to their account;
- the consent projection forgets the person; stored replays of requests by or about the
  person go;
- the access log keeps its legal retention (NEN 7513) unlinked
  (`access_log.anonymise_resident`);
- where the person worked as staff, other residents' responses and invitations name a random
  `retention_tombstone()` instead of them (those records are the other residents');
- the person is remembered as erased, so later events about them are dropped
  (`apply_once(person=...)` in the consumers);
then `person_data_erased` answers with the counts.

The request itself is not dropped for a person erased before: a repeated request (identity
asks again when an answer seems missing) finds nothing left and is answered with zero counts.
"""

from __future__ import annotations

from wijkkracht_common.erasure import retention_tombstone
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.questionnaires import QuestionnairesPersonDataErased
from wijkkracht_common.outbox import Staged

from questionnaires.adapters.repositories import Effect, Repositories
from questionnaires.service import invitations
from questionnaires.service.context import Context


def erase_person(ctx: Context, tenant: str, *, person_id: str, actor: str | None) -> Effect:
    """The effect of one erasure request (applied once by the consumer)."""

    async def effect(repos: Repositories) -> list[Staged]:
        records = await repos.responses.of_person(person_id)
        response_ids = [r.id for r in records]
        invited = await invitations.belonging_to(repos, person_id, records)
        addresses = sorted({i.email for i in invited if i.email})
        submitted = sum(1 for r in records if r.status == "submitted")
        erased = {
            "responses": submitted,
            "responses_in_progress": len(records) - submitted,
            "shares": await repos.shares.delete_of_responses(response_ids),
            "invitations": await repos.invitations.delete([i.id for i in invited]),
            "mails": await repos.mail.delete_to(addresses),
            "consents": await repos.consents.forget_person(person_id),
            "request_replays": await repos.privacy.forget_requests(person_id),
        }
        await repos.responses.delete(response_ids)
        tombstone = retention_tombstone()
        staff_records = await repos.responses.unlink_staff(person_id, tombstone)
        staff_records += await repos.invitations.unlink_inviter(person_id, tombstone)
        anonymised = {
            "access_log": await repos.access_log.anonymise_resident(person_id),
            "staff_records": staff_records,
        }
        await repos.privacy.remember_erased(tenant, person_id)
        event = new_event(
            QuestionnairesPersonDataErased(
                person_id=person_id, erased=erased, anonymised=anonymised
            ),
            tenant=tenant,
            subject=person_id,
            actor=actor,
        )
        return [event]

    return effect


__all__ = ["erase_person"]
