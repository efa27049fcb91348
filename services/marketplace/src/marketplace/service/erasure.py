"""The erasure contract (architecture §9): identity's `person_erasure_requested`.

In one transaction with the inbox claim (`messaging.apply_once(..., person=)`): the person's
posts, the matches on them and their responses, the messages of those matches, memberships,
reports, blocks, certificates, volunteer profile, notifications, profile and replays of
their requests are deleted; the time-credit ledger stays whole (balances and group figures
must still add up) under one random `retention_tombstone()` for the person's accounts,
movements and transfers, so nothing links back; posts and messages a broker wrote for others
keep the resident's, not the broker's, id. Then the consent projection forgets the person,
the access log is unlinked, the person is remembered as erased (late events are dropped),
and `person_data_erased` answers with the counts.
"""

from __future__ import annotations

from wijkkracht_common import access_log, consent, erasure
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.identity import PersonErasureRequested
from wijkkracht_common.events.marketplace import MarketplacePersonDataErased
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db
from marketplace.service.context import Context


async def on_erasure_requested(
    ctx: Context, envelope: Envelope[PersonErasureRequested], delivery: Delivery
) -> bool:
    person = envelope.data.person_id
    tenant = envelope.tenant

    async def effect(db: Db, session: Session) -> list[Staged]:
        counts = await ctx.repo(db, session).erase_person(person, erasure.retention_tombstone())
        forgotten = await consent.forget_person(db, person, session=session)
        unlinked = await access_log.anonymise_resident(db, person, session=session)
        await erasure.remember_erased(db, tenant, person, session=session)
        answer = MarketplacePersonDataErased(
            person_id=person,
            erased={**counts["erased"], "consents": forgotten},
            anonymised={**counts["anonymised"], "access_log": unlinked},
        )
        return [new_event(answer, tenant=tenant, subject=person, actor=envelope.actor)]

    return await apply_once(ctx.runtime, envelope, delivery, effect, person=person)
