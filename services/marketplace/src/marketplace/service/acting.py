"""Who an action is for: the caller themself, or a resident a broker acts for.

A broker (role `broker` in an organisation) posts, responds and arranges for a resident who
is not online, with that resident's consent for the broker's organisation (purpose
`marketplace_broker`, recorded in identity and projected here). Every such action is written
to the resident's access log "on behalf of" the broker's organisation. Without consent the
resident's data does not exist for the broker (404), so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db, Repository
from marketplace.domain.visibility import HELPER_ROLES, Viewer
from marketplace.service.context import Context

BROKER_ROLE = "broker"
BROKER_PURPOSE = "marketplace_broker"
#: Roles that act for their organisation's posts (vacancies, a business's offers).
STAFF_ROLES = ("org_admin", "professional")
#: Roles that moderate the tenant's reports and see its balance figures.
TENANT_MODERATOR_ROLES = ("tenant_admin", "neighbourhood_manager")
ANALYST_ROLES = ("org_admin", "analyst", "tenant_admin")

PERSON_NOT_FOUND = "Persoon niet gevonden. / Person not found."


@dataclass(frozen=True)
class Acting:
    principal: Principal
    #: The person the action is for.
    person_id: str
    #: The broker's organisation when a broker acts for someone else.
    broker_org: str | None = None

    @property
    def by_broker(self) -> bool:
        return self.broker_org is not None

    @property
    def staff_of(self) -> frozenset[str]:
        """Organisations whose posts the caller handles (not when acting for a resident)."""
        if self.by_broker:
            return frozenset()
        return frozenset(self.principal.organisations_with(*STAFF_ROLES))


def _me(principal: Principal) -> str:
    if principal.person_id is None:
        raise NotFound(PERSON_NOT_FOUND)  # routes require a person; this is defence in depth
    return principal.person_id


async def acting_for(r: Repository, principal: Principal, for_person: str | None) -> Acting:
    me = _me(principal)
    if for_person is None or for_person == me:
        return Acting(principal, me)
    for org in principal.organisations_with(BROKER_ROLE):
        if await r.consent_given(for_person, org, BROKER_PURPOSE):
            return Acting(principal, for_person, org)
    raise NotFound(PERSON_NOT_FOUND)


async def log_for(r: Repository, acting: Acting, *, action: str, resource: str) -> None:
    """The resident's access log, when a broker acted for them (NEN 7513)."""
    if acting.broker_org is None:
        return
    await r.record_access(
        principal=acting.principal,
        resident=acting.person_id,
        action=action,
        resource=resource,
        reason=BROKER_PURPOSE,
        on_behalf_of=acting.broker_org,
    )


async def log_read(ctx: Context, acting: Acting, resource: str) -> None:
    """A read has no transaction of its own: a broker's read gets one for its access record."""
    if acting.broker_org is None:
        return

    async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
        await log_for(ctx.repo(db, session), acting, action="read", resource=resource)
        return None, []

    await ctx.commit(acting.principal.tenant, work)


async def viewer_of(r: Repository, acting: Acting, *, with_matches: bool = False) -> Viewer:
    """The market as the acting person sees it (a broker sees it as the resident does)."""
    person = acting.person_id
    profile = await r.resident(person)
    groups = frozenset(m.group_id for m in await r.memberships_of(person) if m.active)
    participates: frozenset[str] = frozenset()
    if with_matches:
        participates = frozenset(m.post_id for m in await r.matches_of_person(person))
    helper = not acting.by_broker and acting.principal.has_role(*HELPER_ROLES)
    return Viewer(
        person_id=person,
        neighbourhood_code=profile.neighbourhood_code if profile else None,
        groups=groups,
        blocked=await r.blocked_either_way(person),
        helper=helper or await r.volunteer(person) is not None,
        staff_of=acting.staff_of,
        participates_in=participates,
    )
