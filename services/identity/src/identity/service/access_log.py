"""The resident's access log: a projection of `AccessRecorded` events from every service,
applied once per event (dropped once the resident is erased), and the resident's view of it,
newest first, in words the resident understands.

Names are resolved when the log is read, from identity's own data — never copied into
events: who (the staff member's short name and role in the organisation they acted for, an
app's name, "Wijkkracht (automatisch)", or a neutral label for staff who no longer exist),
the organisation's name, what was done to which kind of data, and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.access import AccessRecorded
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.adapters.repositories import Repositories
from identity.domain import descriptions as words
from identity.domain.access_log import AccessLine, AccessRecord
from identity.domain.texts import Text
from identity.service.context import Db, Identity
from identity.service.people import calling_person

CLIENT_PREFIX = "client:"


def access_record(envelope: Envelope[AccessRecorded]) -> AccessRecord:
    data = envelope.data
    return AccessRecord(
        id=envelope.id,
        at=envelope.time,
        resident=data.resident,
        service=data.service,
        actor=data.actor,
        on_behalf_of=data.on_behalf_of,
        action=data.action,
        resource=data.resource,
        reason=data.reason,
        trace_id=data.trace_id,
    )


async def on_access_recorded(
    ctx: Identity, envelope: Envelope[AccessRecorded], delivery: Delivery
) -> bool:
    """Consumer of `access.recorded` (every service, identity included)."""
    record = access_record(envelope)

    async def effect(db: Db, session: Session) -> list[Staged]:
        await ctx.within(db, session).access_log.add_projected(record)
        return []

    return await apply_once(ctx.runtime, envelope, delivery, effect, person=record.resident)


class _Resolver:
    """Looks each actor and organisation up once per page."""

    def __init__(self, repos: Repositories, resident: str) -> None:
        self._repos = repos
        self._resident = resident
        self._who: dict[tuple[str, str | None], Text] = {}
        self._orgs: dict[str, str | None] = {}

    async def organisation_name(self, slug: str | None) -> str | None:
        if slug is None:
            return None
        if slug not in self._orgs:
            found = await self._repos.organisations.get(slug)
            self._orgs[slug] = None if found is None else found.name
        return self._orgs[slug]

    async def who(self, actor: str, on_behalf_of: str | None) -> Text:
        key = (actor, on_behalf_of)
        if key not in self._who:
            self._who[key] = await self._resolve(actor, on_behalf_of)
        return self._who[key]

    async def _resolve(self, actor: str, on_behalf_of: str | None) -> Text:
        if actor == self._resident:
            return words.YOU
        if actor.startswith(CLIENT_PREFIX):
            client = await self._repos.clients.get(actor.removeprefix(CLIENT_PREFIX))
            return words.app_label(None if client is None else client.name)
        if actor.startswith("system:"):
            return words.AUTOMATIC
        person = await self._repos.people.get(actor)
        if person is None or not person.is_active:
            return words.FORMER_STAFF
        memberships = await self._repos.memberships.of_person(actor)
        roles = {
            r.value
            for m in memberships
            if on_behalf_of is None or m.organisation == on_behalf_of
            for r in m.roles
        }
        return words.person_label(person.display_name, roles)


async def describe(
    repos: Repositories, resident: str, records: Iterable[AccessRecord]
) -> list[AccessLine]:
    resolver = _Resolver(repos, resident)
    return [
        AccessLine(
            record=r,
            who=await resolver.who(r.actor, r.on_behalf_of),
            organisation_name=await resolver.organisation_name(r.on_behalf_of),
            what=words.what(r.action, r.resource),
            why=words.why(r.reason),
        )
        for r in records
    ]


async def own_log(
    ctx: Identity, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[AccessLine], str | None]:
    """Who accessed my data, newest first, from every service (NEN 7513)."""
    person = await calling_person(ctx, principal)
    repos = await ctx.tenant(principal.tenant)
    records, next_cursor = await repos.access_log.projected_page(
        person.id, limit=limit, cursor=cursor
    )
    return await describe(repos, person.id, records), next_cursor


async def whole_log(repos: Repositories, resident: str) -> list[AccessLine]:
    """Every line of the resident's log (for the export), newest first."""
    records: list[AccessRecord] = []
    cursor: str | None = None
    while True:
        page, cursor = await repos.access_log.projected_page(resident, limit=100, cursor=cursor)
        records += page
        if cursor is None:
            return await describe(repos, resident, records)
