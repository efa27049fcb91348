"""In-memory fakes of identity's repositories and of the runtime's one write path, so use
cases run without a database (model: cosmicpython's tests/unit/test_handlers.py).

`FakeWorld` holds one `FakeRepositories` per database (keyed by tenant). `FakeRuntime.commit`
runs the work on a copy of the world and keeps it only when the work succeeds, like a
transaction; the events of committed work are kept in `staged`.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from identity.adapters.repositories import StoredKeySet
from identity.domain.access_log import AccessRecord
from identity.domain.api_clients import ApiClient
from identity.domain.consent import ConsentLedger, ConsentPurpose
from identity.domain.erasure import ErasureStatus
from identity.domain.exports import ExportJob
from identity.domain.login_codes import LoginCode
from identity.domain.login_throttle import LoginFailure
from identity.domain.memberships import Membership
from identity.domain.neighbourhoods import NeighbourhoodTable
from identity.domain.oauth_policy import OAuthPolicy
from identity.domain.oauth_records import AuthorizationCode, MarkCodeUsed, RefreshToken
from identity.domain.people import Person
from identity.domain.signing_keys import KeySet
from identity.domain.tenancy import Organisation, Team, Tenant
from identity.service.context import Identity, throttle_policy
from identity.service.keys import KeyStore
from identity.service.passwords import PasswordHasher
from identity.settings import Settings
from wijkkracht_common.auth import Principal
from wijkkracht_common.mail import Mail
from wijkkracht_common.storage import DuplicateKeyError


def _page(items: list[Any], key: Callable[[Any], str], limit: int, cursor: str | None) -> Any:
    ordered = sorted(items, key=key)
    if cursor is not None:
        ordered = [i for i in ordered if key(i) > cursor]
    page = ordered[:limit]
    return page, (key(page[-1]) if len(ordered) > limit else None)


class FakeTenantRegistry:
    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.client_names: dict[str, str] = {}

    async def get(self, slug: str) -> Tenant | None:
        return self.tenants.get(slug)

    async def add(self, tenant: Tenant) -> None:
        if tenant.slug in self.tenants:
            raise DuplicateKeyError("tenant exists")
        self.tenants[tenant.slug] = tenant

    async def page(self, *, limit: int, cursor: str | None) -> tuple[list[Tenant], str | None]:
        result: tuple[list[Tenant], str | None] = _page(
            list(self.tenants.values()), lambda t: t.slug, limit, cursor
        )
        return result

    async def tenant_of_client_name(self, name: str) -> str | None:
        return self.client_names.get(name)

    async def claim_client_name(self, name: str, tenant: str) -> bool:
        if name in self.client_names:
            return False
        self.client_names[name] = tenant
        return True


class FakeAllowedOrigins:
    def __init__(self) -> None:
        self.origins: dict[str, set[str]] = {}

    async def add(self, origins: Sequence[str], client_id: str) -> None:
        for origin in origins:
            self.origins.setdefault(origin, set()).add(client_id)

    async def move(self, client_id: str, *, before: Sequence[str], after: Sequence[str]) -> None:
        await self.add([o for o in after if o not in before], client_id)
        for origin in [o for o in before if o not in after]:
            self.origins.get(origin, set()).discard(client_id)
            if not self.origins.get(origin):
                self.origins.pop(origin, None)

    async def all(self) -> set[str]:
        return set(self.origins)


class FakeSigningKeys:
    def __init__(self) -> None:
        self.stored: StoredKeySet | None = None

    async def exists(self) -> bool:
        return self.stored is not None

    async def load(self) -> StoredKeySet | None:
        return self.stored

    async def create(self, keys: KeySet) -> bool:
        if self.stored is not None:
            return False
        self.stored = StoredKeySet(keys, 1)
        return True

    async def replace(self, keys: KeySet, expected_version: int) -> bool:
        if self.stored is None or self.stored.version != expected_version:
            return False
        self.stored = StoredKeySet(keys, expected_version + 1)
        return True


class FakeOrganisations:
    def __init__(self) -> None:
        self.organisations: dict[str, Organisation] = {}
        self.teams: dict[tuple[str, str], Team] = {}

    async def get(self, slug: str) -> Organisation | None:
        return self.organisations.get(slug)

    async def add(self, organisation: Organisation) -> None:
        if organisation.slug in self.organisations:
            raise DuplicateKeyError("organisation exists")
        self.organisations[organisation.slug] = organisation

    async def page(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[Organisation], str | None]:
        result: tuple[list[Organisation], str | None] = _page(
            list(self.organisations.values()), lambda o: o.slug, limit, cursor
        )
        return result

    async def get_team(self, organisation: str, slug: str) -> Team | None:
        return self.teams.get((organisation, slug))

    async def add_team(self, team: Team) -> None:
        if (team.organisation, team.slug) in self.teams:
            raise DuplicateKeyError("team exists")
        self.teams[(team.organisation, team.slug)] = team

    async def teams_page(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Team], str | None]:
        mine = [t for t in self.teams.values() if t.organisation == organisation]
        result: tuple[list[Team], str | None] = _page(mine, lambda t: t.slug, limit, cursor)
        return result


class FakePeople:
    def __init__(self) -> None:
        self.people: dict[str, Person] = {}
        self.emails: dict[str, str] = {}
        self.erasure_requested: dict[str, datetime] = {}

    async def get(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    async def get_many(self, person_ids: Sequence[str]) -> dict[str, Person]:
        return {i: self.people[i] for i in person_ids if i in self.people}

    async def by_email(self, email: str) -> Person | None:
        person_id = self.emails.get(email)
        return None if person_id is None else self.people.get(person_id)

    async def add(self, person: Person) -> None:
        if person.email is not None:
            if person.email in self.emails:
                raise DuplicateKeyError("e-mail taken")
            self.emails[person.email] = person.id
        if person.id in self.people:
            raise DuplicateKeyError("person exists")
        self.people[person.id] = person

    async def save(self, person: Person) -> None:
        if person.id in self.people:
            self.people[person.id] = person

    async def set_password_hash(self, person_id: str, password_hash: str) -> None:
        person = self.people[person_id]
        self.people[person_id] = person.model_copy(update={"password_hash": password_hash})

    async def erasure_requested_at(self, person_id: str) -> datetime | None:
        return self.erasure_requested.get(person_id)

    async def mark_erasure_requested(self, person_id: str, at: datetime) -> bool:
        if person_id in self.erasure_requested:
            return False
        self.erasure_requested[person_id] = at
        return True

    async def delete(self, person_id: str) -> None:
        self.people.pop(person_id, None)
        self.erasure_requested.pop(person_id, None)

    async def release_email(self, email: str) -> None:
        self.emails.pop(email, None)

    async def page_ids(self, *, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        result: tuple[list[str], str | None] = _page(list(self.people), str, limit, cursor)
        return result


class FakeMemberships:
    def __init__(self) -> None:
        self.memberships: dict[tuple[str, str], Membership] = {}

    async def of_person(self, person_id: str) -> list[Membership]:
        return [m for (p, _), m in sorted(self.memberships.items()) if p == person_id]

    async def get(self, person_id: str, organisation: str) -> Membership | None:
        return self.memberships.get((person_id, organisation))

    async def save(self, membership: Membership) -> None:
        self.memberships[(membership.person_id, membership.organisation)] = membership

    async def delete(self, person_id: str, organisation: str) -> bool:
        return self.memberships.pop((person_id, organisation), None) is not None

    async def delete_of_person(self, person_id: str) -> None:
        for key in [k for k in self.memberships if k[0] == person_id]:
            del self.memberships[key]

    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Membership], str | None]:
        mine = [m for m in self.memberships.values() if m.organisation == organisation]
        result: tuple[list[Membership], str | None] = _page(
            mine, lambda m: f"{m.person_id}:{m.organisation}", limit, cursor
        )
        return result


class FakeConsentLedgers:
    def __init__(self) -> None:
        self.ledgers: dict[str, ConsentLedger] = {}

    async def get(self, person_id: str) -> ConsentLedger:
        return self.ledgers.get(person_id) or ConsentLedger(person_id=person_id)

    async def save(self, ledger: ConsentLedger) -> None:
        self.ledgers[ledger.person_id] = ledger

    async def delete(self, person_id: str) -> None:
        self.ledgers.pop(person_id, None)

    async def page_granting(
        self,
        organisation: str,
        purpose: ConsentPurpose | None,
        *,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[ConsentLedger], str | None]:
        granting = [
            ledger
            for person_id, ledger in sorted(self.ledgers.items())
            if (cursor is None or person_id > cursor)
            and (
                purpose in ledger.current().get(organisation, frozenset())
                if purpose is not None
                else organisation in ledger.current()
            )
        ]
        page = granting[:limit]
        return page, (page[-1].person_id if len(granting) > limit else None)

    async def add_missing_granted_keys(self) -> int:
        return 0  # nothing stored in an older shape here


class FakeErasures:
    def __init__(self) -> None:
        self.statuses: dict[str, ErasureStatus] = {}

    async def get(self, key: str) -> ErasureStatus | None:
        return self.statuses.get(key)

    async def save(self, status: ErasureStatus) -> None:
        self.statuses[status.key] = status

    async def incomplete(self) -> list[ErasureStatus]:
        return [s for s in self.statuses.values() if s.completed_at is None]

    async def awaiting_purge(self) -> list[ErasureStatus]:
        return [s for s in self.statuses.values() if s.awaits_purge]


class FakeErasedPersons:
    def __init__(self) -> None:
        self.remembered: set[tuple[str, str]] = set()

    async def remember(self, tenant: str, person_id: str) -> None:
        self.remembered.add((tenant, person_id))

    async def contains(self, tenant: str, person_id: str) -> bool:
        return (tenant, person_id) in self.remembered


class FakeExports:
    def __init__(self) -> None:
        self.jobs: dict[str, ExportJob] = {}

    async def get(self, export_id: str) -> ExportJob | None:
        return self.jobs.get(export_id)

    async def save(self, job: ExportJob) -> None:
        self.jobs[job.id] = job

    async def of_person(self, person_id: str) -> list[ExportJob]:
        mine = [j for j in self.jobs.values() if j.person_id == person_id]
        return sorted(mine, key=lambda j: (j.requested_at, j.id), reverse=True)

    async def unassembled(self) -> list[ExportJob]:
        return [j for j in self.jobs.values() if j.all_parts_in and not j.is_ready]

    async def delete_of_person(self, person_id: str) -> list[ExportJob]:
        mine = await self.of_person(person_id)
        for job in mine:
            del self.jobs[job.id]
        return mine


class FakeApiClients:
    def __init__(self) -> None:
        self.clients: dict[str, ApiClient] = {}

    async def get(self, client_id: str) -> ApiClient | None:
        return self.clients.get(client_id)

    async def add(self, client: ApiClient) -> None:
        if client.client_id in self.clients:
            raise DuplicateKeyError("client exists")
        self.clients[client.client_id] = client

    async def replace(self, client: ApiClient) -> None:
        self.clients[client.client_id] = client

    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[ApiClient], str | None]:
        mine = [c for c in self.clients.values() if c.organisation == organisation]
        result: tuple[list[ApiClient], str | None] = _page(
            mine, lambda c: c.client_id, limit, cursor
        )
        return result


class FakeGrants:
    def __init__(self) -> None:
        self.codes: dict[str, AuthorizationCode] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.denied: dict[str, datetime] = {}

    async def add_code(self, record: AuthorizationCode) -> None:
        self.codes[record.code_hash] = record

    async def get_code(self, code_hash: str) -> AuthorizationCode | None:
        return self.codes.get(code_hash)

    async def mark_code_used(self, write: MarkCodeUsed) -> bool:
        code = self.codes.get(write.code_hash)
        if code is None or code.used_at is not None:
            return False
        self.codes[write.code_hash] = code.model_copy(
            update={
                "used_at": write.used_at,
                "issued_jti": write.issued_jti,
                "issued_jti_expires_at": write.issued_jti_expires_at,
                "issued_family_id": write.issued_family_id,
            }
        )
        return True

    async def get_refresh(self, token_hash: str) -> RefreshToken | None:
        return self.refresh.get(token_hash)

    async def add_refresh(self, record: RefreshToken) -> None:
        self.refresh[record.token_hash] = record

    async def family_of(self, family_id: str) -> RefreshToken | None:
        return next((t for t in self.refresh.values() if t.family_id == family_id), None)

    async def mark_refresh_rotated(self, token_hash: str, at: datetime) -> bool:
        token = self.refresh.get(token_hash)
        if token is None or token.rotated_at is not None or token.revoked_at is not None:
            return False
        self.refresh[token_hash] = token.model_copy(update={"rotated_at": at})
        return True

    async def revoke_family(
        self, family_id: str, at: datetime, reason: str
    ) -> list[tuple[str, datetime]]:
        members = [t for t in self.refresh.values() if t.family_id == family_id]
        for token in members:
            if token.revoked_at is None:
                self.refresh[token.token_hash] = token.model_copy(update={"revoked_at": at})
        return [(t.access_jti, t.access_expires_at) for t in members]

    async def delete_of_subject(self, subject: str) -> list[tuple[str, datetime]]:
        issued = [
            (t.access_jti, t.access_expires_at)
            for t in self.refresh.values()
            if t.subject == subject
        ]
        for code in self.codes.values():
            if code.subject == subject and code.issued_jti and code.issued_jti_expires_at:
                issued.append((code.issued_jti, code.issued_jti_expires_at))
        self.refresh = {k: t for k, t in self.refresh.items() if t.subject != subject}
        self.codes = {k: c for k, c in self.codes.items() if c.subject != subject}
        return issued

    async def deny(self, jti: str, expires_at: datetime) -> None:
        self.denied[jti] = expires_at

    async def is_denied(self, jti: str) -> bool:
        return jti in self.denied


class FakeLoginCodes:
    def __init__(self) -> None:
        self.codes: dict[str, LoginCode] = {}

    async def add(self, record: LoginCode) -> None:
        self.codes[record.code_hash] = record

    async def get(self, code_hash: str) -> LoginCode | None:
        return self.codes.get(code_hash)

    async def redeem(self, code_hash: str, at: datetime) -> bool:
        code = self.codes.get(code_hash)
        if code is None or code.used_at is not None:
            return False
        self.codes[code_hash] = code.model_copy(update={"used_at": at})
        return True

    async def delete_of_person(self, person_id: str) -> None:
        for key in [k for k, c in self.codes.items() if c.person_id == person_id]:
            del self.codes[key]


class FakeLoginFailures:
    def __init__(self) -> None:
        self.failures: list[LoginFailure] = []

    async def record(self, failure: LoginFailure, *, expires_at: datetime) -> None:
        self.failures.append(failure)

    async def of_account_source(self, account: str, source: str, since: datetime) -> list[datetime]:
        return [
            f.at
            for f in self.failures
            if f.account == account and f.source == source and f.at >= since
        ]

    async def of_source(self, source: str, since: datetime) -> list[datetime]:
        return [f.at for f in self.failures if f.source == source and f.at >= since]

    async def count_of_account(self, account: str, since: datetime) -> int:
        return sum(1 for f in self.failures if f.account == account and f.at >= since)

    async def forget_account(self, account: str) -> None:
        self.failures = [f for f in self.failures if f.account != account]


class FakeLoginNotices:
    def __init__(self) -> None:
        self.sent: dict[str, datetime] = {}

    async def last_sent(self, account: str) -> datetime | None:
        return self.sent.get(account)

    async def mark_sent(self, account: str, at: datetime) -> None:
        self.sent[account] = at

    async def forget(self, account: str) -> None:
        self.sent.pop(account, None)


class FakeMailOutbox:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def stage(self, mail: Mail) -> None:
        self.mails.append(mail)


class FakeNeighbourhoodTables:
    def __init__(self) -> None:
        self.table = NeighbourhoodTable()

    async def get(self) -> NeighbourhoodTable:
        return self.table

    async def save(self, table: NeighbourhoodTable, at: datetime) -> None:
        self.table = table


@dataclass(frozen=True)
class LoggedAccess:
    actor: str
    resident: str
    action: str
    resource: str
    reason: str
    on_behalf_of: str | None = None


class FakeAccessLog:
    def __init__(self) -> None:
        self.logged: list[LoggedAccess] = []
        self.projected: dict[str, AccessRecord] = {}

    async def record(
        self,
        principal: Principal,
        *,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None = None,
    ) -> None:
        self.logged.append(
            LoggedAccess(principal.subject, resident, action, resource, reason, on_behalf_of)
        )

    async def record_many(
        self,
        principal: Principal,
        *,
        residents: Sequence[str],
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None = None,
    ) -> None:
        for resident in residents:
            await self.record(
                principal,
                resident=resident,
                action=action,
                resource=resource,
                reason=reason,
                on_behalf_of=on_behalf_of,
            )

    async def add_projected(self, record: AccessRecord) -> None:
        if record.id in self.projected:
            raise DuplicateKeyError("record exists")
        self.projected[record.id] = record

    async def projected_page(
        self, resident: str, *, limit: int, cursor: str | None
    ) -> tuple[list[AccessRecord], str | None]:
        mine = sorted(
            (r for r in self.projected.values() if r.resident == resident),
            key=lambda r: (r.at, r.id),
            reverse=True,
        )
        return mine[:limit], None

    async def anonymise_resident(self, person_id: str) -> int:
        def unlinked(resource: str) -> str:
            return f"{resource.split('/', 1)[0]}/erased"

        count = 0
        for i, line in enumerate(self.logged):
            if person_id in (line.resident, line.actor):
                count += line.resident == person_id
                self.logged[i] = LoggedAccess(
                    "erased" if line.actor == person_id else line.actor,
                    "erased-x" if line.resident == person_id else line.resident,
                    line.action,
                    unlinked(line.resource) if line.resident == person_id else line.resource,
                    line.reason,
                    line.on_behalf_of,
                )
        for key, record in list(self.projected.items()):
            if record.resident == person_id:
                count += 1
                self.projected[key] = record.model_copy(
                    update={"resident": "erased-x", "resource": unlinked(record.resource)}
                )
        return count


class FakeIdempotentResponses:
    def __init__(self) -> None:
        self.about: set[str] = set()

    async def delete_about(self, person_id: str) -> None:
        self.about.discard(person_id)


@dataclass
class FakeRepositories:
    tenants: FakeTenantRegistry = field(default_factory=FakeTenantRegistry)
    origins: FakeAllowedOrigins = field(default_factory=FakeAllowedOrigins)
    organisations: FakeOrganisations = field(default_factory=FakeOrganisations)
    people: FakePeople = field(default_factory=FakePeople)
    memberships: FakeMemberships = field(default_factory=FakeMemberships)
    consents: FakeConsentLedgers = field(default_factory=FakeConsentLedgers)
    erasures: FakeErasures = field(default_factory=FakeErasures)
    erased_persons: FakeErasedPersons = field(default_factory=FakeErasedPersons)
    exports: FakeExports = field(default_factory=FakeExports)
    clients: FakeApiClients = field(default_factory=FakeApiClients)
    grants: FakeGrants = field(default_factory=FakeGrants)
    login_codes: FakeLoginCodes = field(default_factory=FakeLoginCodes)
    login_failures: FakeLoginFailures = field(default_factory=FakeLoginFailures)
    login_notices: FakeLoginNotices = field(default_factory=FakeLoginNotices)
    mail: FakeMailOutbox = field(default_factory=FakeMailOutbox)
    neighbourhoods: FakeNeighbourhoodTables = field(default_factory=FakeNeighbourhoodTables)
    access_log: FakeAccessLog = field(default_factory=FakeAccessLog)
    idempotency: FakeIdempotentResponses = field(default_factory=FakeIdempotentResponses)


class FakeWorld:
    """Every fake database, keyed by tenant (the fake storage's "database" is its name)."""

    def __init__(self) -> None:
        self.databases: dict[str, FakeRepositories] = {}

    def of(self, tenant: str) -> FakeRepositories:
        return self.databases.setdefault(tenant, FakeRepositories())

    def repositories(self, db: Any, _session: Any) -> FakeRepositories:
        return self.of(str(db))


class FakeStorage:
    def __init__(self) -> None:
        self.tenants_with_data: list[str] = []

    async def tenant_db(self, tenant: str) -> str:
        return tenant

    async def platform_db(self) -> str:
        return "platform"

    async def tenants(self) -> list[str]:
        return self.tenants_with_data


class FakeRuntime:
    """`commit` as a transaction on the fake world: all of the work, or none of it."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.storage = FakeStorage()
        self.staged: list[Any] = []
        self.relay_notified = 0

    async def commit(
        self,
        tenant: str,
        work: Callable[[Any, Any], Awaitable[tuple[Any, Sequence[Any]]]],
        *,
        batch_events: bool = False,
    ) -> Any:
        before = copy.deepcopy(self.world.databases)
        try:
            result, events = await work(tenant, None)
        except BaseException:
            self.world.databases = before
            raise
        if tenant not in self.storage.tenants_with_data:
            self.storage.tenants_with_data.append(tenant)
        self.staged.extend(events)
        return result

    def notify_relay(self, tenant: str | None = None) -> None:
        self.relay_notified += 1

    def notify_mail(self) -> None:
        pass

    def event_types(self) -> list[str]:
        return [e.type.split(".")[-2] for e in self.staged]


def fake_identity(world: FakeWorld, **settings: Any) -> Identity:
    """The service context on the fakes: no database, no broker; cheap password hashing."""
    values: dict[str, Any] = {
        "env": "test",
        "login_code_pepper": "unit-test-pepper-" + "x" * 32,
        "erasure_expected_services": ["questionnaires", "social_map"],
        "export_expected_services": ["questionnaires", "social_map"],
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
    }
    values.update(settings)
    config = Settings(**values)
    signing_keys = FakeSigningKeys()

    async def keys() -> FakeSigningKeys:
        return signing_keys

    return Identity(
        settings=config,
        runtime=FakeRuntime(world),  # type: ignore[arg-type]
        keys=KeyStore(keys),
        hasher=PasswordHasher(time_cost=1, memory_cost_kib=1024, parallelism=1),
        policy=OAuthPolicy(issuer=config.issuer),
        throttle=throttle_policy(config),
        repositories=world.repositories,  # type: ignore[arg-type]
    )
