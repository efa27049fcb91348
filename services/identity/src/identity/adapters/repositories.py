"""Persistence of the identity service: the only module that reads or writes its collections.

Repositories take and return domain objects; the service layer never sees a document. Each
repository is a `Protocol` (what the service layer needs) with its MongoDB implementation;
unit tests hand in in-memory fakes (`tests/unit/fakes.py`). `MongoRepositories(db, session)`
bundles them for one database; with the `session` of `runtime.commit` every write joins the
use case's transaction.

Single use of codes, refresh tokens and login codes is enforced here with conditional updates
(`used_at`/`rotated_at` still null): the database, not the process, decides a race.
Replacement documents repeat their `_id` (not every engine takes it from the filter on an
upsert), and date-times that are queried by range are written by insert or replacement,
never by `$set` (see `wijkkracht_common.storage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from wijkkracht_common.access_log import anonymise_resident, record_accesses
from wijkkracht_common.auth import Principal
from wijkkracht_common.erasure import is_erased, remember_erased, retention_tombstone
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.idempotency import IDEMPOTENCY
from wijkkracht_common.mail import Mail, stage_mail
from wijkkracht_common.pagination import paginate
from wijkkracht_common.storage import Database, DuplicateKeyError, Session, restore_datetimes

from identity.adapters import schema as c
from identity.adapters.documents import from_doc, to_doc, without_id
from identity.adapters.key_encryption import KeyEncryptionMissing, KeyRing
from identity.domain.access_log import AccessRecord
from identity.domain.api_clients import ApiClient
from identity.domain.consent import ConsentLedger, ConsentPurpose
from identity.domain.erasure import ErasureStatus
from identity.domain.exports import ExportJob
from identity.domain.login_codes import LoginCode
from identity.domain.login_throttle import LoginFailure
from identity.domain.memberships import Membership
from identity.domain.neighbourhoods import NeighbourhoodTable
from identity.domain.oauth_records import AuthorizationCode, MarkCodeUsed, RefreshToken
from identity.domain.people import Person
from identity.domain.signing_keys import DEFAULT_ALG, KeySet, SigningAlg
from identity.domain.slugs import PLATFORM_TENANT
from identity.domain.tenancy import Organisation, Team, Tenant

Db = Database[dict[str, Any]]

# ---- the repositories the service layer uses -------------------------------------------------


class TenantRegistry(Protocol):
    """Platform database: tenants and platform-wide client names (e.g. `demo-frontend`)."""

    async def get(self, slug: str) -> Tenant | None: ...
    async def add(self, tenant: Tenant) -> None: ...  # DuplicateKeyError when it exists
    async def page(self, *, limit: int, cursor: str | None) -> tuple[list[Tenant], str | None]: ...
    async def tenant_of_client_name(self, name: str) -> str | None: ...
    async def claim_client_name(self, name: str, tenant: str) -> bool: ...


class AllowedOrigins(Protocol):
    """Platform database: CORS origin -> the clients (of any tenant) that registered it."""

    async def add(self, origins: Sequence[str], client_id: str) -> None: ...
    async def move(
        self, client_id: str, *, before: Sequence[str], after: Sequence[str]
    ) -> None: ...
    async def all(self) -> set[str]: ...


@dataclass(frozen=True)
class StoredKeySet:
    keys: KeySet
    version: int
    #: Some private key is stored in clear or sealed with a previous key-encryption key:
    #: saving the set again seals everything with the current one.
    outdated: bool = False


class SigningKeys(Protocol):
    """Platform database: the issuer's key set, changed with optimistic concurrency; the
    private keys are stored encrypted (`key_encryption`)."""

    async def exists(self) -> bool: ...
    async def load(self) -> StoredKeySet | None: ...
    async def create(self, keys: KeySet) -> bool: ...
    async def replace(self, keys: KeySet, expected_version: int) -> bool: ...


class Organisations(Protocol):
    async def get(self, slug: str) -> Organisation | None: ...
    async def add(self, organisation: Organisation) -> None: ...
    async def page(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[Organisation], str | None]: ...
    async def get_team(self, organisation: str, slug: str) -> Team | None: ...
    async def add_team(self, team: Team) -> None: ...
    async def teams_page(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Team], str | None]: ...


class People(Protocol):
    async def get(self, person_id: str) -> Person | None: ...
    async def get_many(self, person_ids: Sequence[str]) -> dict[str, Person]: ...  # found ones
    async def by_email(self, email: str) -> Person | None: ...
    async def add(self, person: Person) -> None: ...  # DuplicateKeyError: e-mail taken
    async def save(self, person: Person) -> None: ...
    async def set_password_hash(self, person_id: str, password_hash: str) -> None: ...
    async def erasure_requested_at(self, person_id: str) -> datetime | None: ...
    async def mark_erasure_requested(self, person_id: str, at: datetime) -> bool: ...
    async def delete(self, person_id: str) -> None: ...
    async def release_email(self, email: str) -> None: ...
    async def page_ids(self, *, limit: int, cursor: str | None) -> tuple[list[str], str | None]: ...


class Memberships(Protocol):
    async def of_person(self, person_id: str) -> list[Membership]: ...
    async def get(self, person_id: str, organisation: str) -> Membership | None: ...
    async def save(self, membership: Membership) -> None: ...
    async def delete(self, person_id: str, organisation: str) -> bool: ...
    async def delete_of_person(self, person_id: str) -> None: ...
    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Membership], str | None]: ...


class ConsentLedgers(Protocol):
    async def get(self, person_id: str) -> ConsentLedger: ...  # empty when none is stored
    async def save(self, ledger: ConsentLedger) -> None: ...
    async def delete(self, person_id: str) -> None: ...
    async def page_granting(
        self,
        organisation: str,
        purpose: ConsentPurpose | None,
        *,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[ConsentLedger], str | None]: ...  # by person id
    async def add_missing_granted_keys(self) -> int: ...  # upgrade of older ledgers


class Erasures(Protocol):
    """Statuses by their key (the person's one-way tombstone), never by the person's id."""

    async def get(self, key: str) -> ErasureStatus | None: ...
    async def save(self, status: ErasureStatus) -> None: ...
    async def incomplete(self) -> list[ErasureStatus]: ...
    async def awaiting_purge(self) -> list[ErasureStatus]: ...


class ErasedPersons(Protocol):
    """One-way tombstones of erased persons: late events about them are dropped."""

    async def remember(self, tenant: str, person_id: str) -> None: ...
    async def contains(self, tenant: str, person_id: str) -> bool: ...


class Exports(Protocol):
    async def get(self, export_id: str) -> ExportJob | None: ...
    async def save(self, job: ExportJob) -> None: ...
    async def of_person(self, person_id: str) -> list[ExportJob]: ...  # newest first
    async def unassembled(self) -> list[ExportJob]: ...  # every part in, no archive yet
    async def delete_of_person(self, person_id: str) -> list[ExportJob]: ...


class ApiClients(Protocol):
    async def get(self, client_id: str) -> ApiClient | None: ...
    async def add(self, client: ApiClient) -> None: ...
    async def replace(self, client: ApiClient) -> None: ...
    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[ApiClient], str | None]: ...


class Grants(Protocol):
    """Authorization codes, refresh-token families and the deny-list of access tokens."""

    async def add_code(self, record: AuthorizationCode) -> None: ...
    async def get_code(self, code_hash: str) -> AuthorizationCode | None: ...
    async def mark_code_used(self, write: MarkCodeUsed) -> bool: ...
    async def get_refresh(self, token_hash: str) -> RefreshToken | None: ...
    async def add_refresh(self, record: RefreshToken) -> None: ...
    async def family_of(self, family_id: str) -> RefreshToken | None: ...  # any member
    async def mark_refresh_rotated(self, token_hash: str, at: datetime) -> bool: ...
    async def revoke_family(
        self, family_id: str, at: datetime, reason: str
    ) -> list[tuple[str, datetime]]: ...
    async def delete_of_subject(self, subject: str) -> list[tuple[str, datetime]]: ...
    async def deny(self, jti: str, expires_at: datetime) -> None: ...
    async def is_denied(self, jti: str) -> bool: ...


class LoginCodes(Protocol):
    async def add(self, record: LoginCode) -> None: ...
    async def get(self, code_hash: str) -> LoginCode | None: ...
    async def redeem(self, code_hash: str, at: datetime) -> bool: ...
    async def delete_of_person(self, person_id: str) -> None: ...


class LoginFailures(Protocol):
    """Failed logins, shared by every replica (the throttle's counters)."""

    async def record(self, failure: LoginFailure, *, expires_at: datetime) -> None: ...
    async def of_account_source(
        self, account: str, source: str, since: datetime
    ) -> list[datetime]: ...
    async def of_source(self, source: str, since: datetime) -> list[datetime]: ...
    async def count_of_account(self, account: str, since: datetime) -> int: ...
    async def forget_account(self, account: str) -> None: ...


class LoginNotices(Protocol):
    """When an account's owner was last told about failed logins."""

    async def last_sent(self, account: str) -> datetime | None: ...
    async def mark_sent(self, account: str, at: datetime) -> None: ...
    async def forget(self, account: str) -> None: ...


class MailOutbox(Protocol):
    async def stage(self, mail: Mail) -> None: ...


class NeighbourhoodTables(Protocol):
    async def get(self) -> NeighbourhoodTable: ...
    async def save(self, table: NeighbourhoodTable, at: datetime) -> None: ...


class AccessLog(Protocol):
    """Identity's own NEN 7513 log (`record`) and the projection of every service's log."""

    async def record(
        self,
        principal: Principal,
        *,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None = None,
    ) -> None: ...
    async def record_many(
        self,
        principal: Principal,
        *,
        residents: Sequence[str],
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None = None,
    ) -> None: ...
    async def add_projected(self, record: AccessRecord) -> None: ...
    async def projected_page(
        self, resident: str, *, limit: int, cursor: str | None
    ) -> tuple[list[AccessRecord], str | None]: ...
    async def anonymise_resident(self, person_id: str) -> int: ...


class IdempotentResponses(Protocol):
    async def delete_about(self, person_id: str) -> None: ...


class Repositories(Protocol):
    """Every repository of one identity database (a tenant's, or the platform database,
    which also holds the registry, client names, origins and signing keys)."""

    @property
    def tenants(self) -> TenantRegistry: ...
    @property
    def origins(self) -> AllowedOrigins: ...
    @property
    def organisations(self) -> Organisations: ...
    @property
    def people(self) -> People: ...
    @property
    def memberships(self) -> Memberships: ...
    @property
    def consents(self) -> ConsentLedgers: ...
    @property
    def erasures(self) -> Erasures: ...
    @property
    def erased_persons(self) -> ErasedPersons: ...
    @property
    def exports(self) -> Exports: ...
    @property
    def clients(self) -> ApiClients: ...
    @property
    def grants(self) -> Grants: ...
    @property
    def login_codes(self) -> LoginCodes: ...
    @property
    def login_failures(self) -> LoginFailures: ...
    @property
    def login_notices(self) -> LoginNotices: ...
    @property
    def mail(self) -> MailOutbox: ...
    @property
    def neighbourhoods(self) -> NeighbourhoodTables: ...
    @property
    def access_log(self) -> AccessLog: ...
    @property
    def idempotency(self) -> IdempotentResponses: ...


# ---- MongoDB -----------------------------------------------------------------------------------


class _Mongo:
    def __init__(self, db: Db, session: Session | None = None) -> None:
        self._db = db
        self._session = session


class MongoTenantRegistry(_Mongo):
    async def get(self, slug: str) -> Tenant | None:
        return from_doc(
            Tenant, await self._db[c.TENANTS].find_one({"_id": slug}, session=self._session), "slug"
        )

    async def add(self, tenant: Tenant) -> None:
        await self._db[c.TENANTS].insert_one(to_doc(tenant, "slug"), session=self._session)

    async def page(self, *, limit: int, cursor: str | None) -> tuple[list[Tenant], str | None]:
        docs, next_cursor = await paginate(self._db[c.TENANTS], {}, limit=limit, cursor=cursor)
        return [t for d in docs if (t := from_doc(Tenant, d, "slug")) is not None], next_cursor

    async def tenant_of_client_name(self, name: str) -> str | None:
        doc = await self._db[c.CLIENT_NAMES].find_one({"_id": name}, session=self._session)
        return None if doc is None else str(doc["tenant"])

    async def claim_client_name(self, name: str, tenant: str) -> bool:
        """False when the name is taken (by any tenant)."""
        try:
            await self._db[c.CLIENT_NAMES].insert_one(
                {"_id": name, "tenant": tenant}, session=self._session
            )
        except DuplicateKeyError:
            return False
        return True


class MongoAllowedOrigins(_Mongo):
    async def add(self, origins: Sequence[str], client_id: str) -> None:
        for origin in origins:
            await self._db[c.ALLOWED_ORIGINS].update_one(
                {"_id": origin},
                {"$addToSet": {"clients": client_id}},
                upsert=True,
                session=self._session,
            )

    async def move(self, client_id: str, *, before: Sequence[str], after: Sequence[str]) -> None:
        """Move the client's entries; an origin no client uses any more goes."""
        await self.add([o for o in after if o not in before], client_id)
        table = self._db[c.ALLOWED_ORIGINS]
        for origin in [o for o in before if o not in after]:
            await table.update_one(
                {"_id": origin}, {"$pull": {"clients": client_id}}, session=self._session
            )
            doc = await table.find_one({"_id": origin}, session=self._session)
            if doc is not None and not doc.get("clients"):
                await table.delete_one({"_id": origin}, session=self._session)

    async def all(self) -> set[str]:
        return {
            str(doc["_id"])
            async for doc in self._db[c.ALLOWED_ORIGINS].find({}, session=self._session)
        }


KEYSET_ID = "keyset"  # the default algorithm's set (ES256), as named before RS256 came


def keyset_id(alg: SigningAlg) -> str:
    """One stored set per algorithm, so each rotates on its own."""
    return KEYSET_ID if alg == DEFAULT_ALG else f"{KEYSET_ID}-{alg.lower()}"


SEALED = "sealed_private_jwk"


class MongoSigningKeys(_Mongo):
    """One algorithm's key set (`keyset_id(alg)`). Each stored key holds its private JWK
    sealed (`SEALED`), never in clear; the tenant of the database and the kid are bound into
    the sealing. Keys stored in clear by an older version are read, and sealed at the next
    save (`StoredKeySet.outdated`)."""

    def __init__(
        self,
        db: Db,
        ring: KeyRing | None,
        session: Session | None = None,
        *,
        tenant: str = PLATFORM_TENANT,
        alg: SigningAlg = DEFAULT_ALG,
    ) -> None:
        super().__init__(db, session)
        self._ring = ring
        self._tenant = tenant
        self._id = keyset_id(alg)
        # kid -> (sealed record, its private JWK) as loaded: a save re-wraps these
        # instead of sealing them anew.
        self._loaded: dict[str, tuple[dict[str, str], dict[str, Any]]] = {}

    def _key_ring(self) -> KeyRing:
        if self._ring is None:
            raise KeyEncryptionMissing(
                "the signing keys are stored encrypted: set WK_IDENTITY_KEY_ENCRYPTION_KEY or "
                "WK_IDENTITY_KEY_ENCRYPTION_KEY_FILE"
            )
        return self._ring

    async def exists(self) -> bool:
        """Whether a key set is stored (known without opening it)."""
        doc = await self._db[c.SIGNING_KEYS].find_one(
            {"_id": self._id}, projection={"_id": 1}, session=self._session
        )
        return doc is not None

    async def load(self) -> StoredKeySet | None:
        doc = await self._db[c.SIGNING_KEYS].find_one({"_id": self._id}, session=self._session)
        if doc is None:
            return None
        outdated = False
        keys: list[dict[str, Any]] = []
        for stored in restore_datetimes(doc)["keys"]:
            key = dict(stored)
            sealed = key.pop(SEALED, None)
            if sealed is None:  # stored in clear by a version before encryption at rest
                outdated = True
            else:
                ring = self._key_ring()
                key["private_jwk"] = ring.unseal(sealed, tenant=self._tenant, kid=key["kid"])
                self._loaded[key["kid"]] = (sealed, key["private_jwk"])
                outdated = outdated or not ring.is_current(sealed)
            keys.append(key)
        return StoredKeySet(KeySet.model_validate({"keys": keys}), int(doc["version"]), outdated)

    def _documents(self, keys: KeySet) -> list[dict[str, Any]]:
        ring = self._key_ring()
        documents = []
        for key in keys.keys:
            doc = key.model_dump()
            private_jwk = doc.pop("private_jwk")
            known = self._loaded.get(key.kid)
            if known is not None and known[1] == private_jwk:
                doc[SEALED] = ring.rewrap(known[0], tenant=self._tenant, kid=key.kid)
            else:
                doc[SEALED] = ring.seal(private_jwk, tenant=self._tenant, kid=key.kid)
            documents.append(doc)
        return documents

    async def create(self, keys: KeySet) -> bool:
        """The first key set; False when another process created one first."""
        try:
            await self._db[c.SIGNING_KEYS].insert_one(
                {"_id": self._id, "keys": self._documents(keys), "version": 1},
                session=self._session,
            )
        except DuplicateKeyError:
            return False
        return True

    async def replace(self, keys: KeySet, expected_version: int) -> bool:
        """Optimistic concurrency: False when another process changed the set first.
        Every key is saved sealed with the current key-encryption key."""
        result = await self._db[c.SIGNING_KEYS].replace_one(
            {"_id": self._id, "version": expected_version},
            {"_id": self._id, "keys": self._documents(keys), "version": expected_version + 1},
            session=self._session,
        )
        return bool(result.modified_count)


def team_id(organisation: str, slug: str) -> str:
    return f"{organisation}/{slug}"


class MongoOrganisations(_Mongo):
    async def get(self, slug: str) -> Organisation | None:
        doc = await self._db[c.ORGANISATIONS].find_one({"_id": slug}, session=self._session)
        return from_doc(Organisation, doc, "slug")

    async def add(self, organisation: Organisation) -> None:
        await self._db[c.ORGANISATIONS].insert_one(
            to_doc(organisation, "slug"), session=self._session
        )

    async def page(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[Organisation], str | None]:
        docs, next_cursor = await paginate(
            self._db[c.ORGANISATIONS], {}, limit=limit, cursor=cursor
        )
        found = [from_doc(Organisation, d, "slug") for d in docs]
        return [o for o in found if o is not None], next_cursor

    async def get_team(self, organisation: str, slug: str) -> Team | None:
        doc = await self._db[c.TEAMS].find_one(
            {"_id": team_id(organisation, slug)}, session=self._session
        )
        return None if doc is None else without_id(Team, doc)

    async def add_team(self, team: Team) -> None:
        doc = team.model_dump()
        doc["_id"] = team_id(team.organisation, team.slug)
        await self._db[c.TEAMS].insert_one(doc, session=self._session)

    async def teams_page(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Team], str | None]:
        docs, next_cursor = await paginate(
            self._db[c.TEAMS], {"organisation": organisation}, limit=limit, cursor=cursor
        )
        return [without_id(Team, d) for d in docs], next_cursor


class MongoPeople(_Mongo):
    async def get(self, person_id: str) -> Person | None:
        return from_doc(
            Person,
            await self._db[c.PEOPLE].find_one({"_id": person_id}, session=self._session),
            "id",
        )

    async def get_many(self, person_ids: Sequence[str]) -> dict[str, Person]:
        """One query (`$in` on `_id` uses the index on every engine we run on)."""
        if not person_ids:
            return {}
        docs = await (
            self._db[c.PEOPLE]
            .find({"_id": {"$in": list(person_ids)}}, session=self._session)
            .to_list(None)
        )
        found = [from_doc(Person, d, "id") for d in docs]
        return {p.id: p for p in found if p is not None}

    async def by_email(self, email: str) -> Person | None:
        claim = await self._db[c.EMAILS].find_one({"_id": email}, session=self._session)
        return None if claim is None else await self.get(str(claim["person_id"]))

    async def add(self, person: Person) -> None:
        """Raises DuplicateKeyError when the e-mail is taken in this tenant."""
        if person.email is not None:
            await self._db[c.EMAILS].insert_one(
                {"_id": person.email, "person_id": person.id}, session=self._session
            )
        await self._db[c.PEOPLE].insert_one(to_doc(person, "id"), session=self._session)

    async def save(self, person: Person) -> None:
        # $set, not replace: bookkeeping fields outside the model (erasure_requested_at) stay.
        doc = to_doc(person, "id")
        doc.pop("_id")
        await self._db[c.PEOPLE].update_one(
            {"_id": person.id}, {"$set": doc}, session=self._session
        )

    async def set_password_hash(self, person_id: str, password_hash: str) -> None:
        await self._db[c.PEOPLE].update_one(
            {"_id": person_id}, {"$set": {"password_hash": password_hash}}, session=self._session
        )

    async def erasure_requested_at(self, person_id: str) -> datetime | None:
        doc = await self._db[c.PEOPLE].find_one(
            {"_id": person_id}, projection={"erasure_requested_at": 1}, session=self._session
        )
        requested: datetime | None = restore_datetimes(doc or {}).get("erasure_requested_at")
        return requested

    async def mark_erasure_requested(self, person_id: str, at: datetime) -> bool:
        """False when an erasure was requested before (the conditional update decides)."""
        result = await self._db[c.PEOPLE].update_one(
            {"_id": person_id, "erasure_requested_at": None},
            {"$set": {"erasure_requested_at": at}},
            session=self._session,
        )
        return bool(result.modified_count)

    async def delete(self, person_id: str) -> None:
        """Erasure: the whole document goes (its id included)."""
        await self._db[c.PEOPLE].delete_one({"_id": person_id}, session=self._session)

    async def release_email(self, email: str) -> None:
        await self._db[c.EMAILS].delete_one({"_id": email}, session=self._session)

    async def page_ids(self, *, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        docs, next_cursor = await paginate(self._db[c.PEOPLE], {}, limit=limit, cursor=cursor)
        return [str(d["_id"]) for d in docs], next_cursor


def membership_id(person_id: str, organisation: str) -> str:
    return f"{person_id}:{organisation}"


class MongoMemberships(_Mongo):
    async def of_person(self, person_id: str) -> list[Membership]:
        cursor = self._db[c.MEMBERSHIPS].find({"person_id": person_id}, session=self._session)
        return [without_id(Membership, d) async for d in cursor]

    async def get(self, person_id: str, organisation: str) -> Membership | None:
        doc = await self._db[c.MEMBERSHIPS].find_one(
            {"_id": membership_id(person_id, organisation)}, session=self._session
        )
        return None if doc is None else without_id(Membership, doc)

    async def save(self, membership: Membership) -> None:
        doc = membership.model_dump()
        doc["_id"] = membership_id(membership.person_id, membership.organisation)
        await self._db[c.MEMBERSHIPS].replace_one(
            {"_id": doc["_id"]}, doc, upsert=True, session=self._session
        )

    async def delete(self, person_id: str, organisation: str) -> bool:
        result = await self._db[c.MEMBERSHIPS].delete_one(
            {"_id": membership_id(person_id, organisation)}, session=self._session
        )
        return bool(result.deleted_count)

    async def delete_of_person(self, person_id: str) -> None:
        await self._db[c.MEMBERSHIPS].delete_many({"person_id": person_id}, session=self._session)

    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Membership], str | None]:
        docs, next_cursor = await paginate(
            self._db[c.MEMBERSHIPS], {"organisation": organisation}, limit=limit, cursor=cursor
        )
        return [without_id(Membership, d) for d in docs], next_cursor


def granted_keys(ledger: ConsentLedger) -> list[str]:
    """Query keys of the grants in force, stored beside the history so a caseload is one
    indexed query: `<org>` (any purpose) and `<org>|<purpose>`. Derived on every save, never
    read back into the model (the history stays the only truth)."""
    keys: list[str] = []
    for organisation, purposes in ledger.current().items():
        keys.append(organisation)
        keys.extend(f"{organisation}|{purpose.value}" for purpose in sorted(purposes))
    return keys


class MongoConsentLedgers(_Mongo):
    async def get(self, person_id: str) -> ConsentLedger:
        doc = await self._db[c.CONSENTS].find_one({"_id": person_id}, session=self._session)
        return from_doc(ConsentLedger, doc, "person_id") or ConsentLedger(person_id=person_id)

    async def save(self, ledger: ConsentLedger) -> None:
        doc = to_doc(ledger, "person_id") | {c.CONSENT_GRANTED_KEYS: granted_keys(ledger)}
        await self._db[c.CONSENTS].replace_one(
            {"_id": ledger.person_id}, doc, upsert=True, session=self._session
        )

    async def page_granting(
        self,
        organisation: str,
        purpose: ConsentPurpose | None,
        *,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[ConsentLedger], str | None]:
        key = organisation if purpose is None else f"{organisation}|{purpose.value}"
        # `$in`, not equality: one engine we run on finds nothing by equality on an indexed
        # array field (docs/developer-guide.md).
        docs, next_cursor = await paginate(
            self._db[c.CONSENTS],
            {c.CONSENT_GRANTED_KEYS: {"$in": [key]}},
            limit=limit,
            cursor=cursor,
        )
        found = [from_doc(ConsentLedger, d, "person_id") for d in docs]
        return [ledger for ledger in found if ledger is not None], next_cursor

    async def add_missing_granted_keys(self) -> int:
        """Upgrade: ledgers saved before `granted_keys` existed get it (idempotent)."""
        docs = await (
            self._db[c.CONSENTS]
            .find({c.CONSENT_GRANTED_KEYS: {"$exists": False}}, session=self._session)
            .to_list(None)
        )
        for doc in docs:
            ledger = from_doc(ConsentLedger, doc, "person_id")
            if ledger is not None:
                await self.save(ledger)
        return len(docs)

    async def delete(self, person_id: str) -> None:
        await self._db[c.CONSENTS].delete_one({"_id": person_id}, session=self._session)


class MongoErasures(_Mongo):
    async def get(self, key: str) -> ErasureStatus | None:
        doc = await self._db[c.ERASURES].find_one({"_id": key}, session=self._session)
        return from_doc(ErasureStatus, doc, "key")

    async def save(self, status: ErasureStatus) -> None:
        # Replaced whole: a forgotten person id leaves no field behind.
        doc = to_doc(status, "key")
        await self._db[c.ERASURES].replace_one(
            {"_id": doc["_id"]}, doc, upsert=True, session=self._session
        )

    async def _where(self, query: dict[str, Any]) -> list[ErasureStatus]:
        docs = await self._db[c.ERASURES].find(query, session=self._session).to_list(None)
        return [s for d in docs if (s := from_doc(ErasureStatus, d, "key")) is not None]

    async def incomplete(self) -> list[ErasureStatus]:
        return await self._where({"completed_at": None})

    async def awaiting_purge(self) -> list[ErasureStatus]:
        return [s for s in await self._where({"purged_at": None}) if s.awaits_purge]


class MongoErasedPersons(_Mongo):
    async def remember(self, tenant: str, person_id: str) -> None:
        await remember_erased(self._db, tenant, person_id, session=self._session)

    async def contains(self, tenant: str, person_id: str) -> bool:
        return await is_erased(self._db, tenant, person_id, session=self._session)


class MongoExports(_Mongo):
    async def get(self, export_id: str) -> ExportJob | None:
        doc = await self._db[c.EXPORTS].find_one({"_id": export_id}, session=self._session)
        return from_doc(ExportJob, doc, "id")

    async def save(self, job: ExportJob) -> None:
        doc = to_doc(job, "id")
        await self._db[c.EXPORTS].replace_one(
            {"_id": doc["_id"]}, doc, upsert=True, session=self._session
        )

    async def _jobs(self, query: dict[str, Any]) -> list[ExportJob]:
        docs = await self._db[c.EXPORTS].find(query, session=self._session).to_list(None)
        jobs = [j for d in docs if (j := from_doc(ExportJob, d, "id")) is not None]
        return sorted(jobs, key=lambda j: (j.requested_at, j.id), reverse=True)

    async def of_person(self, person_id: str) -> list[ExportJob]:
        return await self._jobs({"person_id": person_id})

    async def unassembled(self) -> list[ExportJob]:
        return [j for j in await self._jobs({"archive_object": None}) if j.all_parts_in]

    async def delete_of_person(self, person_id: str) -> list[ExportJob]:
        jobs = await self.of_person(person_id)
        await self._db[c.EXPORTS].delete_many({"person_id": person_id}, session=self._session)
        return jobs


class MongoApiClients(_Mongo):
    async def get(self, client_id: str) -> ApiClient | None:
        doc = await self._db[c.CLIENTS].find_one({"_id": client_id}, session=self._session)
        return from_doc(ApiClient, doc, "client_id")

    async def add(self, client: ApiClient) -> None:
        await self._db[c.CLIENTS].insert_one(to_doc(client, "client_id"), session=self._session)

    async def replace(self, client: ApiClient) -> None:
        # Replaced whole (not $set): its date-times and booleans keep their stored types.
        doc = to_doc(client, "client_id")
        await self._db[c.CLIENTS].replace_one({"_id": doc["_id"]}, doc, session=self._session)

    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[ApiClient], str | None]:
        docs, next_cursor = await paginate(
            self._db[c.CLIENTS], {"organisation": organisation}, limit=limit, cursor=cursor
        )
        found = [from_doc(ApiClient, d, "client_id") for d in docs]
        return [x for x in found if x is not None], next_cursor


class MongoGrants(_Mongo):
    async def add_code(self, record: AuthorizationCode) -> None:
        await self._db[c.AUTH_CODES].insert_one(to_doc(record, "code_hash"), session=self._session)

    async def get_code(self, code_hash: str) -> AuthorizationCode | None:
        doc = await self._db[c.AUTH_CODES].find_one({"_id": code_hash}, session=self._session)
        return from_doc(AuthorizationCode, doc, "code_hash")

    async def mark_code_used(self, write: MarkCodeUsed) -> bool:
        result = await self._db[c.AUTH_CODES].update_one(
            {"_id": write.code_hash, "used_at": None},
            {
                "$set": {
                    "used_at": write.used_at,
                    "issued_jti": write.issued_jti,
                    "issued_jti_expires_at": write.issued_jti_expires_at,
                    "issued_family_id": write.issued_family_id,
                }
            },
            session=self._session,
        )
        return bool(result.modified_count)

    async def get_refresh(self, token_hash: str) -> RefreshToken | None:
        doc = await self._db[c.REFRESH_TOKENS].find_one({"_id": token_hash}, session=self._session)
        return from_doc(RefreshToken, doc, "token_hash")

    async def add_refresh(self, record: RefreshToken) -> None:
        await self._db[c.REFRESH_TOKENS].insert_one(
            to_doc(record, "token_hash"), session=self._session
        )

    async def family_of(self, family_id: str) -> RefreshToken | None:
        doc = await self._db[c.REFRESH_TOKENS].find_one(
            {"family_id": family_id}, session=self._session
        )
        return from_doc(RefreshToken, doc, "token_hash")

    async def mark_refresh_rotated(self, token_hash: str, at: datetime) -> bool:
        result = await self._db[c.REFRESH_TOKENS].update_one(
            {"_id": token_hash, "rotated_at": None, "revoked_at": None},
            {"$set": {"rotated_at": at}},
            session=self._session,
        )
        return bool(result.modified_count)

    async def revoke_family(
        self, family_id: str, at: datetime, reason: str
    ) -> list[tuple[str, datetime]]:
        """Revoke every member; (access jti, its expiry) of each member, for the deny-list."""
        tokens = self._db[c.REFRESH_TOKENS]
        members = await tokens.find({"family_id": family_id}, session=self._session).to_list(None)
        await tokens.update_many(
            {"family_id": family_id, "revoked_at": None},
            {"$set": {"revoked_at": at, "revoked_reason": reason}},
            session=self._session,
        )
        return [(str(m["access_jti"]), restore_datetimes(m)["access_expires_at"]) for m in members]

    async def delete_of_subject(self, subject: str) -> list[tuple[str, datetime]]:
        """Erasure: the subject's refresh tokens and authorization codes go; returns (jti,
        expiry) of every access token they issued, for the deny-list."""
        issued: list[tuple[str, datetime]] = []
        tokens = self._db[c.REFRESH_TOKENS]
        async for doc in tokens.find({"subject": subject}, session=self._session):
            issued.append((str(doc["access_jti"]), restore_datetimes(doc)["access_expires_at"]))
        codes = self._db[c.AUTH_CODES]
        async for doc in codes.find({"subject": subject}, session=self._session):
            code = restore_datetimes(doc)
            if code.get("issued_jti") and code.get("issued_jti_expires_at"):
                issued.append((str(code["issued_jti"]), code["issued_jti_expires_at"]))
        await tokens.delete_many({"subject": subject}, session=self._session)
        await codes.delete_many({"subject": subject}, session=self._session)
        return issued

    async def deny(self, jti: str, expires_at: datetime) -> None:
        # Replaced (not $set): the TTL index needs a stored date-time.
        await self._db[c.REVOKED_JTIS].replace_one(
            {"_id": jti},
            {"_id": jti, "expires_at": expires_at},
            upsert=True,
            session=self._session,
        )

    async def is_denied(self, jti: str) -> bool:
        return (
            await self._db[c.REVOKED_JTIS].find_one({"_id": jti}, session=self._session) is not None
        )


class MongoLoginCodes(_Mongo):
    async def add(self, record: LoginCode) -> None:
        await self._db[c.LOGIN_CODES].insert_one(to_doc(record, "code_hash"), session=self._session)

    async def get(self, code_hash: str) -> LoginCode | None:
        doc = await self._db[c.LOGIN_CODES].find_one({"_id": code_hash}, session=self._session)
        return from_doc(LoginCode, doc, "code_hash")

    async def redeem(self, code_hash: str, at: datetime) -> bool:
        result = await self._db[c.LOGIN_CODES].update_one(
            {"_id": code_hash, "used_at": None}, {"$set": {"used_at": at}}, session=self._session
        )
        return bool(result.modified_count)

    async def delete_of_person(self, person_id: str) -> None:
        await self._db[c.LOGIN_CODES].delete_many({"person_id": person_id}, session=self._session)


class MongoLoginFailures(_Mongo):
    """One inserted document per failure (date-times stay queryable), removed by a TTL
    index after `expires_at`."""

    async def record(self, failure: LoginFailure, *, expires_at: datetime) -> None:
        await self._db[c.LOGIN_FAILURES].insert_one(
            {
                "_id": new_event_id(),
                "account": failure.account,
                "source": failure.source,
                "at": failure.at,
                "expires_at": expires_at,
            },
            session=self._session,
        )

    async def _times(self, query: dict[str, Any]) -> list[datetime]:
        cursor = self._db[c.LOGIN_FAILURES].find(query, projection={"at": 1}, session=self._session)
        return [restore_datetimes(doc)["at"] async for doc in cursor]

    async def of_account_source(self, account: str, source: str, since: datetime) -> list[datetime]:
        return await self._times({"account": account, "source": source, "at": {"$gte": since}})

    async def of_source(self, source: str, since: datetime) -> list[datetime]:
        return await self._times({"source": source, "at": {"$gte": since}})

    async def count_of_account(self, account: str, since: datetime) -> int:
        return await self._db[c.LOGIN_FAILURES].count_documents(
            {"account": account, "at": {"$gte": since}}, session=self._session
        )

    async def forget_account(self, account: str) -> None:
        failures = self._db[c.LOGIN_FAILURES]
        await failures.delete_many({"account": account}, session=self._session)
        # records of versions before the (account, source) counters
        await failures.delete_many({"key": f"account:{account}"}, session=self._session)


class MongoLoginNotices(_Mongo):
    async def last_sent(self, account: str) -> datetime | None:
        doc = await self._db[c.LOGIN_NOTICES].find_one({"_id": account}, session=self._session)
        sent: datetime | None = None if doc is None else restore_datetimes(doc)["sent_at"]
        return sent

    async def mark_sent(self, account: str, at: datetime) -> None:
        await self._db[c.LOGIN_NOTICES].replace_one(
            {"_id": account}, {"_id": account, "sent_at": at}, upsert=True, session=self._session
        )

    async def forget(self, account: str) -> None:
        await self._db[c.LOGIN_NOTICES].delete_one({"_id": account}, session=self._session)


class MongoMailOutbox(_Mongo):
    async def stage(self, mail: Mail) -> None:
        """Sent by the runtime's mail relay once the transaction committed."""
        await stage_mail(self._db, mail, session=self._session)


NEIGHBOURHOOD_TABLE_ID = "table"


class MongoNeighbourhoodTables(_Mongo):
    async def get(self) -> NeighbourhoodTable:
        doc = await self._db[c.NEIGHBOURHOODS].find_one(
            {"_id": NEIGHBOURHOOD_TABLE_ID}, session=self._session
        )
        if doc is None:
            return NeighbourhoodTable()
        return NeighbourhoodTable.model_validate({"neighbourhoods": doc["neighbourhoods"]})

    async def save(self, table: NeighbourhoodTable, at: datetime) -> None:
        await self._db[c.NEIGHBOURHOODS].replace_one(
            {"_id": NEIGHBOURHOOD_TABLE_ID},
            {
                "_id": NEIGHBOURHOOD_TABLE_ID,
                "neighbourhoods": table.model_dump()["neighbourhoods"],
                "imported_at": at,
            },
            upsert=True,
            session=self._session,
        )


class MongoAccessLog(_Mongo):
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
        """NEN 7513: stored, and staged as `access.recorded` for the resident's projection."""
        await self.record_many(
            principal,
            residents=[resident],
            action=action,
            resource=resource,
            reason=reason,
            on_behalf_of=on_behalf_of,
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
        """One access to each of `residents` (a list): two writes in all."""
        await record_accesses(
            self._db,
            service="identity",
            principal=principal,
            residents=residents,
            action=action,
            resource=resource,
            reason=reason,
            on_behalf_of=on_behalf_of,
            session=self._session,
        )

    async def add_projected(self, record: AccessRecord) -> None:
        await self._db[c.ACCESS_PROJECTION].insert_one(to_doc(record, "id"), session=self._session)

    async def projected_page(
        self, resident: str, *, limit: int, cursor: str | None
    ) -> tuple[list[AccessRecord], str | None]:
        docs, next_cursor = await paginate(
            self._db[c.ACCESS_PROJECTION],
            {"resident": resident},
            limit=limit,
            cursor=cursor,
            sort_field="at",
            descending=True,
        )
        found = [from_doc(AccessRecord, d, "id") for d in docs]
        return [r for r in found if r is not None], next_cursor

    async def anonymise_resident(self, person_id: str) -> int:
        """Erasure: identity's own log and the projection of every service's log keep their
        legal retention, unlinked from the person. The own log through
        `access_log.anonymise_resident` (a random tombstone for the person as resident and as
        viewer, the resource without its id); the projection, identity's own collection,
        the same way here."""
        rewritten = await anonymise_resident(self._db, person_id, session=self._session)
        return rewritten + await self._unlink_projection(person_id)

    async def _unlink_projection(self, person_id: str) -> int:
        tombstone = retention_tombstone()
        table = self._db[c.ACCESS_PROJECTION]
        docs = await table.find({"resident": person_id}, session=self._session).to_list(None)
        for doc in docs:
            kind = str(doc.get("resource", "")).split("/", 1)[0] or "resource"
            await table.replace_one(
                {"_id": doc["_id"]},
                {**doc, "resident": tombstone, "resource": f"{kind}/erased"},
                session=self._session,
            )
        viewed = await table.update_many(
            {"actor": person_id}, {"$set": {"actor": tombstone}}, session=self._session
        )
        return len(docs) + int(viewed.modified_count)


class MongoIdempotentResponses(_Mongo):
    async def delete_about(self, person_id: str) -> None:
        """Stored responses of creating requests that name the person (a registration, an
        export an admin started), and the person's own keys (scoped by their id)."""
        table = self._db[IDEMPOTENCY]
        for field in ("body.id", "body.person_id"):
            await table.delete_many({field: person_id}, session=self._session)
        # `<subject>:<route>:<key>`: ';' sorts right after ':'.
        await table.delete_many(
            {"_id": {"$gte": f"{person_id}:", "$lt": f"{person_id};"}}, session=self._session
        )


class MongoRepositories:
    """The repositories of one database, built when first used; with `session`, every
    write joins that transaction."""

    def __init__(self, db: Db, session: Session | None = None) -> None:
        self._db = db
        self._session = session

    @cached_property
    def tenants(self) -> MongoTenantRegistry:
        return MongoTenantRegistry(self._db, self._session)

    @cached_property
    def origins(self) -> MongoAllowedOrigins:
        return MongoAllowedOrigins(self._db, self._session)

    @cached_property
    def organisations(self) -> MongoOrganisations:
        return MongoOrganisations(self._db, self._session)

    @cached_property
    def people(self) -> MongoPeople:
        return MongoPeople(self._db, self._session)

    @cached_property
    def memberships(self) -> MongoMemberships:
        return MongoMemberships(self._db, self._session)

    @cached_property
    def consents(self) -> MongoConsentLedgers:
        return MongoConsentLedgers(self._db, self._session)

    @cached_property
    def erasures(self) -> MongoErasures:
        return MongoErasures(self._db, self._session)

    @cached_property
    def erased_persons(self) -> MongoErasedPersons:
        return MongoErasedPersons(self._db, self._session)

    @cached_property
    def exports(self) -> MongoExports:
        return MongoExports(self._db, self._session)

    @cached_property
    def clients(self) -> MongoApiClients:
        return MongoApiClients(self._db, self._session)

    @cached_property
    def grants(self) -> MongoGrants:
        return MongoGrants(self._db, self._session)

    @cached_property
    def login_codes(self) -> MongoLoginCodes:
        return MongoLoginCodes(self._db, self._session)

    @cached_property
    def login_failures(self) -> MongoLoginFailures:
        return MongoLoginFailures(self._db, self._session)

    @cached_property
    def login_notices(self) -> MongoLoginNotices:
        return MongoLoginNotices(self._db, self._session)

    @cached_property
    def mail(self) -> MongoMailOutbox:
        return MongoMailOutbox(self._db, self._session)

    @cached_property
    def neighbourhoods(self) -> MongoNeighbourhoodTables:
        return MongoNeighbourhoodTables(self._db, self._session)

    @cached_property
    def access_log(self) -> MongoAccessLog:
        return MongoAccessLog(self._db, self._session)

    @cached_property
    def idempotency(self) -> MongoIdempotentResponses:
        return MongoIdempotentResponses(self._db, self._session)
