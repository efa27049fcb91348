"""Views of a resident's response by someone else: the NEN 7513 access record, and
`response_shared` for the first view per (response, organisation) and every FHIR export."""

from __future__ import annotations

from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.questionnaires import ResponseShared

from questionnaires.adapters.repositories import Repositories
from questionnaires.domain.response_record import ResponseRecord
from questionnaires.service.access import Viewer
from questionnaires.service.context import Context


async def log_view(
    ctx: Context,
    principal: Principal,
    record: ResponseRecord,
    viewer: Viewer,
    *,
    what: str,
    action: str = "read",
    share_format: str = "view",
    shared_with: str | None = None,
) -> None:
    """Nothing for the resident's own views and anonymous responses."""
    if viewer.is_owner or record.person_id is None:
        return
    person_id = record.person_id
    target = shared_with or viewer.organisation or "unknown"

    async def work(repos: Repositories) -> tuple[None, list[Envelope[Any]]]:
        await repos.access_log.record(
            principal,
            resident=person_id,
            action=action,
            resource=f"response/{record.id}/{what}",
            reason=viewer.reason,
            on_behalf_of=viewer.organisation,
        )
        if share_format == "view" and not await repos.shares.first_view(
            record.id, target, share_format, ctx.now()
        ):
            return None, []
        event = new_event(
            ResponseShared(
                response_id=record.id,
                person_id=person_id,
                shared_with=target,
                format=share_format,  # type: ignore[arg-type]
            ),
            tenant=principal.tenant,
            subject=record.id,
            actor=principal.subject,
            organisation=viewer.organisation,
        )
        return None, [event]

    await ctx.commit(principal.tenant, work)


__all__ = ["log_view"]
