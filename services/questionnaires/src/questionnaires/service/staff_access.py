"""Staff reading or changing a resident's data (NEN 7513): what is recorded, always on behalf
of the staff member's organisation (`on_behalf_of`), in the transaction of the change it
concerns (a read is recorded in a transaction of its own).

Reasons: `assisted` (filling in a response together), `invitation` (the organisation's
invitations), and the consents `share_results` / `share_with_gp` (`sharing.log_view`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import Envelope

from questionnaires.adapters.repositories import Repositories

if TYPE_CHECKING:  # the context holds the submit queue, which records these
    from questionnaires.service.context import Context


@dataclass(frozen=True, slots=True)
class StaffAccess:
    principal: Principal
    resident: str
    action: str  # read | list | create | update (identity words them for the resident)
    resource: str  # e.g. "response/<id>", "invitation/<id>"
    reason: str
    on_behalf_of: str | None

    async def record(self, repos: Repositories) -> None:
        await repos.access_log.record(
            self.principal,
            resident=self.resident,
            action=self.action,
            resource=self.resource,
            reason=self.reason,
            on_behalf_of=self.on_behalf_of,
        )


async def record_reads(ctx: Context, tenant: str, accesses: Sequence[StaffAccess]) -> None:
    """Reads: recorded together in one transaction (nothing when there are none)."""
    if not accesses:
        return

    async def work(repos: Repositories) -> tuple[None, list[Envelope[Any]]]:
        for access in accesses:
            await access.record(repos)
        return None, []

    await ctx.commit(tenant, work)


__all__ = ["StaffAccess", "record_reads"]
