"""Effect of effect measurement's `followup_due` (measure -> act -> re-measure): an
invitation for that person to that instrument, `followup_of` = the trajectory, actor
`effect_measurement`. The response started from it carries the trajectory and the invitation
into `response_submitted`."""

from __future__ import annotations

from datetime import datetime, timedelta

from wijkkracht_common.outbox import Staged

from questionnaires.adapters.repositories import Effect, Repositories
from questionnaires.service import instruments, invitations
from questionnaires.service.context import Context

ACTOR = "effect_measurement"


async def followup_due(
    ctx: Context,
    tenant: str,
    *,
    person_id: str,
    instrument_id: str,
    trajectory_id: str,
    due_at: datetime,
    organisation: str | None,
) -> Effect:
    """The effect of one `followup_due` (applied once by the consumer). Raises NotFound for
    an instrument the tenant does not have (the event can never apply).

    `due_at` is when the follow-up fell due, so the invitation's own deadline lies a window
    after it (never in the past, even for an event delivered late)."""
    await instruments.ensure_tenant(ctx, tenant)
    instrument = await instruments.load(ctx, tenant, instrument_id, None, None)
    deadline = max(due_at, ctx.now()) + timedelta(days=ctx.settings.followup_response_days)
    new = invitations.new_invitation(
        ctx,
        tenant,
        instrument.definition,
        actor=ACTOR,
        organisation=organisation,
        person_id=person_id,
        email=None,
        due_at=deadline,
        language=None,
        followup_of=trajectory_id,
    )

    async def effect(repos: Repositories) -> list[Staged]:
        await invitations.store(ctx, repos, tenant, new)
        return [new.event]

    return effect


__all__ = ["followup_due"]
