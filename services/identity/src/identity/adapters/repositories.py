"""Motor repositories of the identity service (used by the service layer only).

Every write inside a use case passes the `session` of `runtime.commit`'s transaction.
Single use of codes, refresh tokens and login codes is enforced here with conditional
updates (`used_at`/`rotated_at` still null): the database, not the process, decides a race.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from wijkkracht_common.storage import Database, DuplicateKeyError, Session

from identity.adapters import schema as c
from identity.adapters.documents import from_doc, restore_datetimes, to_doc
from identity.domain.api_clients import ApiClient
from identity.domain.consent import ConsentLedger
from identity.domain.erasure import ErasureStatus
from identity.domain.login_codes import LoginCode
from identity.domain.memberships import Membership
from identity.domain.neighbourhoods import NeighbourhoodTable
from identity.domain.oauth_records import AuthorizationCode, RefreshToken
from identity.domain.people import Person
from identity.domain.signing_keys import KeySet
from identity.domain.tenancy import Organisation, Team, Tenant

Db = Database[dict[str, Any]]
S = Session | None


# ---- platform database ---------------------------------------------------------------------


async def get_tenant(pdb: Db, slug: str) -> Tenant | None:
    return from_doc(Tenant, await pdb[c.TENANTS].find_one({"_id": slug}), "slug")


async def insert_tenant(pdb: Db, tenant: Tenant, *, session: S) -> None:
    await pdb[c.TENANTS].insert_one(to_doc(tenant, "slug"), session=session)


async def tenant_of_client_name(pdb: Db, name: str) -> str | None:
    doc = await pdb[c.CLIENT_NAMES].find_one({"_id": name})
    return None if doc is None else str(doc["tenant"])


async def claim_client_name(pdb: Db, name: str, tenant: str) -> bool:
    """False when the name is taken (by any tenant)."""
    try:
        await pdb[c.CLIENT_NAMES].insert_one({"_id": name, "tenant": tenant})
    except DuplicateKeyError:
        return False
    return True


async def add_allowed_origins(pdb: Db, origins: Sequence[str], client_id: str) -> None:
    for origin in origins:
        await pdb[c.ALLOWED_ORIGINS].update_one(
            {"_id": origin}, {"$addToSet": {"clients": client_id}}, upsert=True
        )


async def set_client_origins(
    pdb: Db, client_id: str, *, before: Sequence[str], after: Sequence[str]
) -> None:
    """Move the client's entries in the CORS table; an origin no client uses any more goes."""
    await add_allowed_origins(pdb, [o for o in after if o not in before], client_id)
    for origin in [o for o in before if o not in after]:
        await pdb[c.ALLOWED_ORIGINS].update_one({"_id": origin}, {"$pull": {"clients": client_id}})
        doc = await pdb[c.ALLOWED_ORIGINS].find_one({"_id": origin})
        if doc is not None and not doc.get("clients"):
            await pdb[c.ALLOWED_ORIGINS].delete_one({"_id": origin})


async def all_allowed_origins(pdb: Db) -> set[str]:
    return {str(doc["_id"]) async for doc in pdb[c.ALLOWED_ORIGINS].find({})}


KEYSET_ID = "keyset"


async def load_keyset(pdb: Db) -> tuple[KeySet, int] | None:
    doc = await pdb[c.SIGNING_KEYS].find_one({"_id": KEYSET_ID})
    if doc is None:
        return None
    return KeySet.model_validate({"keys": restore_datetimes(doc)["keys"]}), int(doc["version"])


async def create_keyset(pdb: Db, keys: KeySet) -> bool:
    """First key set; False when another process created one first."""
    try:
        await pdb[c.SIGNING_KEYS].insert_one(
            {"_id": KEYSET_ID, "keys": keys.model_dump()["keys"], "version": 1}
        )
    except DuplicateKeyError:
        return False
    return True


async def replace_keyset(pdb: Db, keys: KeySet, expected_version: int) -> bool:
    """Optimistic concurrency: False when another rotation won."""
    result = await pdb[c.SIGNING_KEYS].replace_one(
        {"_id": KEYSET_ID, "version": expected_version},
        {"keys": keys.model_dump()["keys"], "version": expected_version + 1},
    )
    return bool(result.modified_count)


# ---- organisations, teams --------------------------------------------------------------------


async def get_organisation(db: Db, slug: str) -> Organisation | None:
    return from_doc(Organisation, await db[c.ORGANISATIONS].find_one({"_id": slug}), "slug")


async def insert_organisation(db: Db, org: Organisation, *, session: S) -> None:
    await db[c.ORGANISATIONS].insert_one(to_doc(org, "slug"), session=session)


def team_id(organisation: str, slug: str) -> str:
    return f"{organisation}/{slug}"


async def insert_team(db: Db, team: Team, *, session: S) -> None:
    doc = team.model_dump()
    doc["_id"] = team_id(team.organisation, team.slug)
    await db[c.TEAMS].insert_one(doc, session=session)


async def get_team(db: Db, organisation: str, slug: str) -> Team | None:
    doc = await db[c.TEAMS].find_one({"_id": team_id(organisation, slug)})
    if doc is None:
        return None
    return Team.model_validate({k: v for k, v in restore_datetimes(doc).items() if k != "_id"})


# ---- people ------------------------------------------------------------------------------------


async def get_person(db: Db, person_id: str) -> Person | None:
    return from_doc(Person, await db[c.PEOPLE].find_one({"_id": person_id}), "id")


async def person_by_email(db: Db, email: str) -> Person | None:
    claim = await db[c.EMAILS].find_one({"_id": email})
    return None if claim is None else await get_person(db, str(claim["person_id"]))


async def insert_person(db: Db, person: Person, *, session: S) -> None:
    """Raises DuplicateKeyError when the e-mail is taken in this tenant."""
    if person.email is not None:
        await db[c.EMAILS].insert_one(
            {"_id": person.email, "person_id": person.id}, session=session
        )
    await db[c.PEOPLE].insert_one(to_doc(person, "id"), session=session)


async def save_person(db: Db, person: Person, *, session: S) -> None:
    # $set, not replace: bookkeeping fields outside the model (erasure_requested_at) stay.
    doc = to_doc(person, "id")
    doc.pop("_id")
    await db[c.PEOPLE].update_one({"_id": person.id}, {"$set": doc}, session=session)


async def replace_person_with_tombstone(
    db: Db, tombstone: Person, *, erased_at: datetime, session: S
) -> None:
    """Replace the whole document: nothing of the person's data survives in extra fields."""
    old = await db[c.PEOPLE].find_one(
        {"_id": tombstone.id}, projection={"erasure_requested_at": 1}, session=session
    )
    doc = to_doc(tombstone, "id")
    doc["erasure_requested_at"] = restore_datetimes(old or {}).get("erasure_requested_at")
    doc["erased_at"] = erased_at
    await db[c.PEOPLE].replace_one({"_id": tombstone.id}, doc, session=session)


async def release_email(db: Db, email: str, *, session: S) -> None:
    await db[c.EMAILS].delete_one({"_id": email}, session=session)


# ---- memberships -------------------------------------------------------------------------------


def membership_id(person_id: str, organisation: str) -> str:
    return f"{person_id}:{organisation}"


def _membership(doc: dict[str, Any]) -> Membership:
    return Membership.model_validate(
        {k: v for k, v in restore_datetimes(doc).items() if k != "_id"}
    )


async def memberships_of(db: Db, person_id: str) -> list[Membership]:
    return [_membership(d) async for d in db[c.MEMBERSHIPS].find({"person_id": person_id})]


async def get_membership(db: Db, person_id: str, organisation: str) -> Membership | None:
    doc = await db[c.MEMBERSHIPS].find_one({"_id": membership_id(person_id, organisation)})
    return None if doc is None else _membership(doc)


async def save_membership(db: Db, membership: Membership, *, session: S) -> None:
    doc = membership.model_dump()
    doc["_id"] = membership_id(membership.person_id, membership.organisation)
    await db[c.MEMBERSHIPS].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)


async def delete_membership(db: Db, person_id: str, organisation: str, *, session: S) -> bool:
    result = await db[c.MEMBERSHIPS].delete_one(
        {"_id": membership_id(person_id, organisation)}, session=session
    )
    return bool(result.deleted_count)


async def delete_memberships_of(db: Db, person_id: str, *, session: S) -> None:
    await db[c.MEMBERSHIPS].delete_many({"person_id": person_id}, session=session)


# ---- consent ---------------------------------------------------------------------------------


async def get_ledger(db: Db, person_id: str) -> ConsentLedger:
    found = from_doc(ConsentLedger, await db[c.CONSENTS].find_one({"_id": person_id}), "person_id")
    return found or ConsentLedger(person_id=person_id)


async def save_ledger(db: Db, ledger: ConsentLedger, *, session: S) -> None:
    doc = to_doc(ledger, "person_id")
    await db[c.CONSENTS].replace_one({"_id": ledger.person_id}, doc, upsert=True, session=session)


# ---- erasure -----------------------------------------------------------------------------------


async def get_erasure(db: Db, person_id: str, *, session: S = None) -> ErasureStatus | None:
    return erasure_from_doc(await db[c.ERASURES].find_one({"_id": person_id}, session=session))


def erasure_from_doc(doc: dict[str, Any] | None) -> ErasureStatus | None:
    return from_doc(ErasureStatus, doc, "person_id")


async def save_erasure(db: Db, status: ErasureStatus, *, session: S) -> None:
    doc = to_doc(status, "person_id")
    await db[c.ERASURES].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)


# ---- API clients -------------------------------------------------------------------------------


async def get_client(db: Db, client_id: str) -> ApiClient | None:
    return from_doc(ApiClient, await db[c.CLIENTS].find_one({"_id": client_id}), "client_id")


async def insert_client(db: Db, client: ApiClient, *, session: S) -> None:
    await db[c.CLIENTS].insert_one(to_doc(client, "client_id"), session=session)


async def replace_client(db: Db, client: ApiClient) -> None:
    # replace (not $set): keeps datetimes and booleans typed (see documents.py).
    doc = to_doc(client, "client_id")
    await db[c.CLIENTS].replace_one({"_id": doc["_id"]}, doc)


# ---- authorization codes, refresh tokens, revoked access tokens -------------------------------


async def insert_code(db: Db, record: AuthorizationCode, *, session: S = None) -> None:
    await db[c.AUTH_CODES].insert_one(to_doc(record, "code_hash"), session=session)


async def get_code(db: Db, code_hash: str) -> AuthorizationCode | None:
    return from_doc(
        AuthorizationCode, await db[c.AUTH_CODES].find_one({"_id": code_hash}), "code_hash"
    )


async def mark_code_used(db: Db, code_hash: str, fields: dict[str, Any], *, session: S) -> bool:
    result = await db[c.AUTH_CODES].update_one(
        {"_id": code_hash, "used_at": None}, {"$set": fields}, session=session
    )
    return bool(result.modified_count)


async def get_refresh(db: Db, token_hash: str) -> RefreshToken | None:
    return from_doc(
        RefreshToken, await db[c.REFRESH_TOKENS].find_one({"_id": token_hash}), "token_hash"
    )


async def insert_refresh(db: Db, record: RefreshToken, *, session: S) -> None:
    await db[c.REFRESH_TOKENS].insert_one(to_doc(record, "token_hash"), session=session)


async def mark_refresh_rotated(db: Db, token_hash: str, at: datetime, *, session: S) -> bool:
    result = await db[c.REFRESH_TOKENS].update_one(
        {"_id": token_hash, "rotated_at": None, "revoked_at": None},
        {"$set": {"rotated_at": at}},
        session=session,
    )
    return bool(result.modified_count)


async def revoke_family(
    db: Db, family_id: str, at: datetime, reason: str, *, session: S
) -> list[tuple[str, datetime]]:
    """Revoke every member; returns (access jti, its expiry) of each member for the deny-list."""
    members = (
        await db[c.REFRESH_TOKENS].find({"family_id": family_id}, session=session).to_list(None)
    )
    await db[c.REFRESH_TOKENS].update_many(
        {"family_id": family_id, "revoked_at": None},
        {"$set": {"revoked_at": at, "revoked_reason": reason}},
        session=session,
    )
    return [(str(m["access_jti"]), restore_datetimes(m)["access_expires_at"]) for m in members]


async def deny_jti(db: Db, jti: str, expires_at: datetime, *, session: S) -> None:
    # replace (not $set): the TTL index needs a real datetime (see documents.py). The
    # replacement repeats `_id`: nx-27017 gives an upserted replacement a new ObjectId.
    await db[c.REVOKED_JTIS].replace_one(
        {"_id": jti}, {"_id": jti, "expires_at": expires_at}, upsert=True, session=session
    )


async def is_jti_revoked(db: Db, jti: str) -> bool:
    return await db[c.REVOKED_JTIS].find_one({"_id": jti}) is not None


# ---- login codes and throttling ----------------------------------------------------------------


async def insert_login_code(db: Db, record: LoginCode, *, session: S) -> None:
    await db[c.LOGIN_CODES].insert_one(to_doc(record, "code_hash"), session=session)


async def get_login_code(db: Db, code_hash: str) -> LoginCode | None:
    return from_doc(LoginCode, await db[c.LOGIN_CODES].find_one({"_id": code_hash}), "code_hash")


async def redeem_login_code(db: Db, code_hash: str, at: datetime) -> bool:
    result = await db[c.LOGIN_CODES].update_one(
        {"_id": code_hash, "used_at": None}, {"$set": {"used_at": at}}
    )
    return bool(result.modified_count)


async def record_login_failure(
    db: Db, keys: Sequence[str], at: datetime, expires_at: datetime
) -> None:
    from wijkkracht_common.events.envelope import new_event_id

    await db[c.LOGIN_FAILURES].insert_many(
        [{"_id": new_event_id(), "key": k, "at": at, "expires_at": expires_at} for k in keys]
    )


async def login_failures_since(db: Db, key: str, since: datetime) -> list[datetime]:
    cursor = db[c.LOGIN_FAILURES].find({"key": key, "at": {"$gte": since}}, projection={"at": 1})
    return [doc["at"] async for doc in cursor]


# ---- neighbourhoods ----------------------------------------------------------------------------

NEIGHBOURHOOD_TABLE_ID = "table"


async def get_neighbourhoods(db: Db) -> NeighbourhoodTable:
    doc = await db[c.NEIGHBOURHOODS].find_one({"_id": NEIGHBOURHOOD_TABLE_ID})
    if doc is None:
        return NeighbourhoodTable()
    return NeighbourhoodTable.model_validate({"neighbourhoods": doc["neighbourhoods"]})


async def save_neighbourhoods(
    db: Db, table: NeighbourhoodTable, at: datetime, *, session: S
) -> None:
    await db[c.NEIGHBOURHOODS].replace_one(
        {"_id": NEIGHBOURHOOD_TABLE_ID},
        {
            "_id": NEIGHBOURHOOD_TABLE_ID,
            "neighbourhoods": table.model_dump()["neighbourhoods"],
            "imported_at": at,
        },
        upsert=True,
        session=session,
    )
