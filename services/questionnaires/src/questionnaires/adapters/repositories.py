"""Repositories of the questionnaires service: where its databases are read and written.

Each repository is a Protocol (what the service layer may ask) and its implementation on the
tenant's database through `wijkkracht_common.storage` (`Mongo...`). They take and return domain
objects (`Instrument`, `ResponseRecord`, `Invitation`; consent states of the shared
projection, `wijkkracht_common.consent.ConsentState`); documents stay in this
package (`documents.py`). One `Repositories` bundle is bound to one database and, inside a
transaction, to its session (`mongo_repositories(db, session)`); the unit of work
(`unit_of_work.py`) hands use cases such bundles. Unit tests use in-memory fakes of the same
Protocols (`tests/unit/service/conftest.py`).

Races are decided by the database, not the process: the writes that must happen once are
conditional updates (`status` still `in_progress`, `sent`, ...; the automatic reminder not yet
claimed) that report whether they matched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pymongo import UpdateOne
from wijkkracht_common import access_log, consent, erasure
from wijkkracht_common.access_log import record_access
from wijkkracht_common.auth import Principal
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.events.identity import ConsentPurpose
from wijkkracht_common.idempotency import IDEMPOTENCY
from wijkkracht_common.mail import MAIL_OUTBOX, Mail, stage_mail
from wijkkracht_common.outbox import Staged
from wijkkracht_common.pagination import paginate
from wijkkracht_common.storage import Database, Session, stored_datetime

from questionnaires.adapters.documents import (
    INSTRUMENTS,
    INVITATION_LINKS,
    INVITATIONS,
    RESPONSES,
    SHARES,
    TENANTS,
    Document,
    instrument_doc,
    instrument_of,
    invitation_doc,
    invitation_of,
    inviter_share_doc,
    record_of,
    response_doc,
    response_fields,
)
from questionnaires.domain.definition import Status
from questionnaires.domain.instrument import Instrument, instrument_key
from questionnaires.domain.invitation import OPEN_STATES, REMINDABLE_STATES, Invitation
from questionnaires.domain.response_record import InviterShare, ResponseRecord

Db = Database[dict[str, Any]]
T = TypeVar("T")

SERVICE = "questionnaires"


# ---- what the service layer may ask --------------------------------------------------------


class InstrumentRepository(Protocol):
    async def get(self, instrument_id: str, version: int) -> Instrument | None: ...

    async def latest_published(self, instrument_id: str) -> Instrument | None: ...

    async def versions(self, instrument_id: str) -> list[Instrument]:
        """Every version of the id, newest first."""
        ...

    async def stored(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of these (id, version) pairs are stored."""
        ...

    async def add(self, instrument: Instrument) -> None: ...

    async def delete_draft(self, instrument_id: str, version: int) -> None: ...

    async def change_status(self, changed: Instrument, *, expected: Status) -> bool:
        """Store `changed` (a new status) if the stored version still has `expected`."""
        ...

    async def page(
        self, *, drafts_of: Sequence[str], status: Status | None, limit: int, cursor: str | None
    ) -> tuple[list[Instrument], str | None]:
        """Published and retired versions, and the drafts of the organisations `drafts_of`."""
        ...


@dataclass(frozen=True, slots=True)
class RenderedSubmit:
    """A submitted record rendered to its stored form ahead of the group commit's transaction
    (rendering inside it would keep the transaction open longer)."""

    record: ResponseRecord
    fields: Document


class ResponseRepository(Protocol):
    async def get(self, response_id: str) -> ResponseRecord | None: ...

    async def add(self, record: ResponseRecord) -> None: ...

    async def save_in_progress(self, record: ResponseRecord) -> bool:
        """Store the record's answers if the stored response is still in progress."""
        ...

    def render_submit(self, record: ResponseRecord) -> RenderedSubmit: ...

    async def store_submits(self, submits: Sequence[RenderedSubmit]) -> int:
        """Store submitted records whose stored response is still in progress; returns how
        many were (fewer than given: the caller rolls the transaction back)."""
        ...

    async def page_of_person(
        self, person_id: str, *, submitted_only: bool, limit: int, cursor: str | None
    ) -> tuple[list[ResponseRecord], str | None]: ...

    async def of_person(self, person_id: str) -> list[ResponseRecord]:
        """Every response of the person, whatever its status."""
        ...

    async def set_inviter_share(self, response_id: str, share: InviterShare) -> None:
        """The resident's choice about the inviting organisation (any status)."""
        ...

    async def attach(self, attached: ResponseRecord) -> bool:
        """Store the person of `attached` (`ResponseRecord.attached_to`) if the stored
        response has none yet; False otherwise."""
        ...

    async def delete(self, response_ids: Sequence[str]) -> int: ...

    async def unlink_staff(self, staff_id: str, tombstone: str) -> int:
        """Other residents' responses that name `staff_id` (who assisted or started them, the
        scope of their submit's Idempotency-Key) name `tombstone` instead; how many."""
        ...


class InvitationRepository(Protocol):
    async def get(self, invitation_id: str) -> Invitation | None: ...

    async def add(self, invitation: Invitation) -> None: ...

    async def add_link(self, token_hash: str, invitation_id: str, at: datetime) -> None:
        """An e-mail link's token (hashed) that opens the invitation."""
        ...

    async def by_link(self, token_hash: str) -> Invitation | None: ...

    async def mark_started(self, invitation_id: str, response_id: str, at: datetime) -> None:
        """`started` if still `sent` or `opened`."""
        ...

    async def mark_submitted(self, invitation_id: str, response_id: str, at: datetime) -> None: ...

    async def mark_opened(self, invitation_id: str, at: datetime) -> None:
        """`opened` if still `sent`."""
        ...

    async def count_reminder(self, invitation_id: str, at: datetime) -> None: ...

    async def overdue(self, now: datetime) -> list[str]:
        """Ids of the open invitations past `due_at`."""
        ...

    async def expire(self, invitation_ids: Sequence[str], now: datetime) -> int:
        """Those of them still open -> `expired`; how many."""
        ...

    async def due_for_reminder(
        self, now: datetime, until: datetime, limit: int
    ) -> list[Invitation]:
        """Not started, due between `now` and `until`, not automatically reminded yet."""
        ...

    async def claim_automatic_reminder(self, invitation_id: str, now: datetime) -> bool:
        """Count the automatic reminder once: False when it was claimed before (or the
        invitation was started meanwhile)."""
        ...

    async def of_person(self, person_id: str) -> list[Invitation]: ...

    async def get_many(self, invitation_ids: Sequence[str]) -> list[Invitation]: ...

    async def delete(self, invitation_ids: Sequence[str]) -> int:
        """The invitations and their e-mail links; how many invitations."""
        ...

    async def unlink_inviter(self, staff_id: str, tombstone: str) -> int:
        """Invitations sent by `staff_id` name `tombstone` instead; how many."""
        ...

    async def attach(self, invitation_id: str, person_id: str) -> None:
        """An e-mail invitation becomes the person's (their response was attached), if it
        names nobody yet."""
        ...

    async def page_of_person(
        self, person_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Invitation], str | None]: ...

    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Invitation], str | None]: ...


class ConsentRepository(Protocol):
    """The platform's one consent projection (`wijkkracht_common.consent`: identity's
    `consent_granted` / `consent_revoked`, newest by the consent's own version), read for
    decisions; its consumer is `consent.register_consent_projection`."""

    async def granted_organisations(
        self, person_id: str, purpose: ConsentPurpose, among: Sequence[str]
    ) -> list[str]:
        """Those of `among` to which the person grants `purpose` now, sorted."""
        ...

    async def state(
        self, person_id: str, organisation: str, purpose: ConsentPurpose
    ) -> ConsentState | None:
        """The newest known state (granted or revoked, and when), None when none is known."""
        ...

    async def forget_person(self, person_id: str) -> int:
        """Erasure: the person's consent states go."""
        ...


@dataclass(frozen=True, slots=True)
class ShareMarker:
    """A response shown to an organisation (`view`) or exported (`fhir_r4`) with consent."""

    response_id: str
    shared_with: str
    format: str
    at: datetime | None


class ShareRepository(Protocol):
    async def first_view(
        self, response_id: str, shared_with: str, share_format: str, at: datetime
    ) -> bool:
        """Record that the response was shown to `shared_with`; False if it was before."""
        ...

    async def of_responses(self, response_ids: Sequence[str]) -> list[ShareMarker]: ...

    async def delete_of_responses(self, response_ids: Sequence[str]) -> int: ...


class TenantRegistry(Protocol):
    """Tenants registered by identity (the platform database's bundle only)."""

    async def register(self, tenant: str, at: datetime) -> None: ...

    async def is_registered(self, tenant: str) -> bool: ...


class AccessLog(Protocol):
    """NEN 7513 access records (each also sent as `access.recorded`)."""

    async def record(
        self,
        principal: Principal,
        *,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None: ...

    async def anonymise_resident(self, person_id: str) -> int:
        """Erasure: the records keep their legal retention, unlinked from the person
        (`wijkkracht_common.access_log.anonymise_resident`); how many."""
        ...


class MailOutbox(Protocol):
    async def stage(self, mail: Mail) -> None:
        """Send `mail` once the transaction committed (the mail relay)."""
        ...

    async def delete_to(self, addresses: Sequence[str]) -> int:
        """Erasure: mail to these addresses, sent or not; how many."""
        ...


class PrivacyRecords(Protocol):
    """The erasure's service-wide parts: stored replays of requests (`Idempotency-Key`) and
    the erased persons' tombstones (`wijkkracht_common.erasure`)."""

    async def forget_requests(self, person_id: str) -> int:
        """Replays of the person's own requests and of requests that named them; how many."""
        ...

    async def remember_erased(self, tenant: str, person_id: str) -> None:
        """Events about the person are dropped from now on (`apply_once(person=...)`)."""
        ...


@dataclass(frozen=True, slots=True)
class Repositories:
    """The repositories of one database (and, inside a transaction, of its session)."""

    instruments: InstrumentRepository
    responses: ResponseRepository
    invitations: InvitationRepository
    consents: ConsentRepository
    shares: ShareRepository
    tenants: TenantRegistry
    access_log: AccessLog
    mail: MailOutbox
    privacy: PrivacyRecords


#: A use case's work in one transaction: its result and the events to stage with it.
Work = Callable[[Repositories], Awaitable[tuple[T, Sequence[Staged]]]]
#: An event's effect in the transaction of its inbox claim: the follow-up events to stage.
Effect = Callable[[Repositories], Awaitable[Sequence[Staged]]]


# ---- on the tenant's database ---------------------------------------------------------------


class _OnDatabase:
    __slots__ = ("_db", "_session")

    def __init__(self, db: Db, session: Session | None) -> None:
        self._db = db
        self._session = session


class MongoInstruments(_OnDatabase):
    __slots__ = ()

    async def get(self, instrument_id: str, version: int) -> Instrument | None:
        doc = await self._db[INSTRUMENTS].find_one(
            {"_id": instrument_key(instrument_id, version)}, session=self._session
        )
        return None if doc is None else instrument_of(doc)

    async def latest_published(self, instrument_id: str) -> Instrument | None:
        docs = (
            await self._db[INSTRUMENTS]
            .find({"instrument_id": instrument_id, "status": "published"}, session=self._session)
            .sort("version", -1)
            .limit(1)
            .to_list(None)
        )
        return instrument_of(docs[0]) if docs else None

    async def versions(self, instrument_id: str) -> list[Instrument]:
        docs = (
            await self._db[INSTRUMENTS]
            .find({"instrument_id": instrument_id}, session=self._session)
            .sort("version", -1)
            .to_list(None)
        )
        return [instrument_of(d) for d in docs]

    async def stored(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        ids = {instrument_key(i, v): (i, v) for i, v in keys}
        found = self._db[INSTRUMENTS].find(
            {"_id": {"$in": list(ids)}}, {"_id": 1}, session=self._session
        )
        return {ids[d["_id"]] async for d in found}

    async def add(self, instrument: Instrument) -> None:
        await self._db[INSTRUMENTS].insert_one(instrument_doc(instrument), session=self._session)

    async def delete_draft(self, instrument_id: str, version: int) -> None:
        await self._db[INSTRUMENTS].delete_one(
            {"_id": instrument_key(instrument_id, version), "status": "draft"},
            session=self._session,
        )

    async def change_status(self, changed: Instrument, *, expected: Status) -> bool:
        definition = changed.definition
        result = await self._db[INSTRUMENTS].update_one(
            {"_id": changed.key, "status": expected},
            {"$set": {"status": definition.status, "body": definition.model_dump_json()}},
            session=self._session,
        )
        return result.matched_count == 1

    async def page(
        self, *, drafts_of: Sequence[str], status: Status | None, limit: int, cursor: str | None
    ) -> tuple[list[Instrument], str | None]:
        visible: Document = {
            "$or": [
                {"status": {"$in": ["published", "retired"]}},
                {"status": "draft", "owner": {"$in": list(drafts_of)}},
            ]
        }
        query = {"$and": [visible, {"status": status}]} if status else visible
        docs, next_cursor = await paginate(self._db[INSTRUMENTS], query, limit=limit, cursor=cursor)
        return [instrument_of(d) for d in docs], next_cursor


class MongoResponses(_OnDatabase):
    """`batched`: reads by id outside a transaction through the read batching
    (`batched_reads.py`), when it is on."""

    __slots__ = ("_batched",)

    def __init__(
        self,
        db: Db,
        session: Session | None,
        batched: Callable[[str], Awaitable[Document | None]] | None = None,
    ) -> None:
        super().__init__(db, session)
        self._batched = batched

    async def get(self, response_id: str) -> ResponseRecord | None:
        if self._batched is not None and self._session is None:
            doc = await self._batched(response_id)
        else:
            doc = await self._db[RESPONSES].find_one({"_id": response_id}, session=self._session)
        return None if doc is None else record_of(doc)

    async def add(self, record: ResponseRecord) -> None:
        await self._db[RESPONSES].insert_one(response_doc(record), session=self._session)

    async def save_in_progress(self, record: ResponseRecord) -> bool:
        result = await self._db[RESPONSES].update_one(
            {"_id": record.id, "status": "in_progress"},
            {"$set": response_fields(record)},
            session=self._session,
        )
        return result.matched_count == 1

    def render_submit(self, record: ResponseRecord) -> RenderedSubmit:
        return RenderedSubmit(record, response_fields(record))

    async def store_submits(self, submits: Sequence[RenderedSubmit]) -> int:
        collection = self._db[RESPONSES]
        if len(submits) == 1:
            only = submits[0]
            result = await collection.update_one(
                {"_id": only.record.id, "status": "in_progress"},
                {"$set": only.fields},
                session=self._session,
            )
            return result.matched_count
        bulk = await collection.bulk_write(
            [
                UpdateOne({"_id": s.record.id, "status": "in_progress"}, {"$set": s.fields})
                for s in submits
            ],
            ordered=False,
            session=self._session,
        )
        return bulk.matched_count

    async def page_of_person(
        self, person_id: str, *, submitted_only: bool, limit: int, cursor: str | None
    ) -> tuple[list[ResponseRecord], str | None]:
        query: Document = {"person_id": person_id}
        if submitted_only:
            query["status"] = "submitted"
        docs, next_cursor = await paginate(self._db[RESPONSES], query, limit=limit, cursor=cursor)
        return [record_of(d) for d in docs], next_cursor

    async def of_person(self, person_id: str) -> list[ResponseRecord]:
        docs = (
            await self._db[RESPONSES]
            .find({"person_id": person_id}, session=self._session)
            .sort("_id", 1)
            .to_list(None)
        )
        return [record_of(d) for d in docs]

    async def set_inviter_share(self, response_id: str, share: InviterShare) -> None:
        await self._db[RESPONSES].update_one(
            {"_id": response_id},
            {"$set": {"inviter_share": inviter_share_doc(share)}},
            session=self._session,
        )

    async def attach(self, attached: ResponseRecord) -> bool:
        result = await self._db[RESPONSES].update_one(
            {"_id": attached.id, "person_id": None},
            {
                "$set": {
                    "person_id": attached.person_id,
                    "body": attached.response.model_dump_json(),
                }
            },
            session=self._session,
        )
        return result.matched_count == 1

    async def delete(self, response_ids: Sequence[str]) -> int:
        if not response_ids:
            return 0
        result = await self._db[RESPONSES].delete_many(
            {"_id": {"$in": list(response_ids)}}, session=self._session
        )
        return result.deleted_count

    async def unlink_staff(self, staff_id: str, tombstone: str) -> int:
        # Unindexed fields (a full scan each; erasure is rare) and no `$or` (not served well
        # by every engine): one query per field, then each response rewritten whole.
        collection = self._db[RESPONSES]
        found: dict[str, Document] = {}
        for query in (
            {"assisted_by": staff_id},
            {"started_by": staff_id},
            {"submit_key": {"$gte": f"{staff_id}:", "$lt": f"{staff_id};"}},
        ):
            async for doc in collection.find(query, session=self._session):
                found[doc["_id"]] = doc
        for doc in found.values():
            unlinked = record_of(doc).without_staff(staff_id, tombstone)
            await collection.replace_one(
                {"_id": doc["_id"]}, response_doc(unlinked), session=self._session
            )
        return len(found)


class MongoInvitations(_OnDatabase):
    __slots__ = ()

    async def get(self, invitation_id: str) -> Invitation | None:
        doc = await self._db[INVITATIONS].find_one({"_id": invitation_id}, session=self._session)
        return None if doc is None else invitation_of(doc)

    async def add(self, invitation: Invitation) -> None:
        await self._db[INVITATIONS].insert_one(invitation_doc(invitation), session=self._session)

    async def add_link(self, token_hash: str, invitation_id: str, at: datetime) -> None:
        await self._db[INVITATION_LINKS].insert_one(
            {"_id": token_hash, "invitation_id": invitation_id, "created_at": at},
            session=self._session,
        )

    async def by_link(self, token_hash: str) -> Invitation | None:
        link = await self._db[INVITATION_LINKS].find_one({"_id": token_hash}, session=self._session)
        return None if link is None else await self.get(link["invitation_id"])

    async def mark_started(self, invitation_id: str, response_id: str, at: datetime) -> None:
        await self._db[INVITATIONS].update_one(
            {"_id": invitation_id, "status": {"$in": ["sent", "opened"]}},
            {"$set": {"status": "started", "response_id": response_id, "updated_at": at}},
            session=self._session,
        )

    async def mark_submitted(self, invitation_id: str, response_id: str, at: datetime) -> None:
        await self._db[INVITATIONS].update_one(
            {"_id": invitation_id},
            {"$set": {"status": "submitted", "response_id": response_id, "updated_at": at}},
            session=self._session,
        )

    async def mark_opened(self, invitation_id: str, at: datetime) -> None:
        await self._db[INVITATIONS].update_one(
            {"_id": invitation_id, "status": "sent"},
            {"$set": {"status": "opened", "updated_at": at}},
            session=self._session,
        )

    async def count_reminder(self, invitation_id: str, at: datetime) -> None:
        await self._db[INVITATIONS].update_one(
            {"_id": invitation_id},
            {"$set": {"updated_at": at}, "$inc": {"reminders": 1}},
            session=self._session,
        )

    async def overdue(self, now: datetime) -> list[str]:
        # `due_at` is written by insert only, so it keeps its date-time type for the range
        # query; `expire` then goes by `_id` (an indexed match on every engine).
        docs = (
            await self._db[INVITATIONS]
            .find(
                {"status": {"$in": list(OPEN_STATES)}, "due_at": {"$lt": now}},
                {"_id": 1},
                session=self._session,
            )
            .to_list(None)
        )
        return [d["_id"] for d in docs]

    async def expire(self, invitation_ids: Sequence[str], now: datetime) -> int:
        result = await self._db[INVITATIONS].update_many(
            {"_id": {"$in": list(invitation_ids)}, "status": {"$in": list(OPEN_STATES)}},
            {"$set": {"status": "expired", "updated_at": now}},
            session=self._session,
        )
        return int(result.modified_count)

    async def due_for_reminder(
        self, now: datetime, until: datetime, limit: int
    ) -> list[Invitation]:
        docs = (
            await self._db[INVITATIONS]
            .find(
                {
                    "status": {"$in": list(REMINDABLE_STATES)},
                    "due_at": {"$gte": now, "$lte": until},
                    "auto_reminded_at": None,
                },
                session=self._session,
            )
            .limit(limit)
            .to_list(None)
        )
        return [invitation_of(d) for d in docs]

    async def claim_automatic_reminder(self, invitation_id: str, now: datetime) -> bool:
        # An epoch number, not a date-time: the claim's filter (`None`) and any later range
        # query then match alike on every engine.
        claimed = await self._db[INVITATIONS].update_one(
            {
                "_id": invitation_id,
                "status": {"$in": list(REMINDABLE_STATES)},
                "auto_reminded_at": None,
            },
            {
                "$set": {"auto_reminded_at": now.timestamp(), "updated_at": now},
                "$inc": {"reminders": 1},
            },
            session=self._session,
        )
        return claimed.matched_count == 1

    async def of_person(self, person_id: str) -> list[Invitation]:
        docs = (
            await self._db[INVITATIONS]
            .find({"person_id": person_id}, session=self._session)
            .to_list(None)
        )
        return [invitation_of(d) for d in docs]

    async def get_many(self, invitation_ids: Sequence[str]) -> list[Invitation]:
        if not invitation_ids:
            return []
        docs = (
            await self._db[INVITATIONS]
            .find({"_id": {"$in": list(invitation_ids)}}, session=self._session)
            .to_list(None)
        )
        return [invitation_of(d) for d in docs]

    async def delete(self, invitation_ids: Sequence[str]) -> int:
        if not invitation_ids:
            return 0
        for invitation_id in invitation_ids:  # equality on the indexed field, per id
            await self._db[INVITATION_LINKS].delete_many(
                {"invitation_id": invitation_id}, session=self._session
            )
        result = await self._db[INVITATIONS].delete_many(
            {"_id": {"$in": list(invitation_ids)}}, session=self._session
        )
        return result.deleted_count

    async def unlink_inviter(self, staff_id: str, tombstone: str) -> int:
        result = await self._db[INVITATIONS].update_many(
            {"invited_by": staff_id}, {"$set": {"invited_by": tombstone}}, session=self._session
        )
        return int(result.modified_count)

    async def attach(self, invitation_id: str, person_id: str) -> None:
        await self._db[INVITATIONS].update_one(
            {"_id": invitation_id, "person_id": None},
            {"$set": {"person_id": person_id}},
            session=self._session,
        )

    async def page_of_person(
        self, person_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Invitation], str | None]:
        return await self._page({"person_id": person_id}, limit, cursor)

    async def page_of_organisation(
        self, organisation: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Invitation], str | None]:
        return await self._page({"organisation": organisation}, limit, cursor)

    async def _page(
        self, query: Document, limit: int, cursor: str | None
    ) -> tuple[list[Invitation], str | None]:
        docs, next_cursor = await paginate(self._db[INVITATIONS], query, limit=limit, cursor=cursor)
        return [invitation_of(d) for d in docs], next_cursor


class MongoConsents(_OnDatabase):
    __slots__ = ()

    async def granted_organisations(
        self, person_id: str, purpose: ConsentPurpose, among: Sequence[str]
    ) -> list[str]:
        if not among:
            return []
        granted = await consent.organisations_with_consent(self._db, person_id, purpose)
        return sorted(set(granted).intersection(among))

    async def state(
        self, person_id: str, organisation: str, purpose: ConsentPurpose
    ) -> ConsentState | None:
        return await consent.consent_state(
            self._db, person_id, organisation, purpose, session=self._session
        )

    async def forget_person(self, person_id: str) -> int:
        return await consent.forget_person(self._db, person_id, session=self._session)


class MongoShares(_OnDatabase):
    __slots__ = ()

    async def first_view(
        self, response_id: str, shared_with: str, share_format: str, at: datetime
    ) -> bool:
        share_id = f"{response_id}:{shared_with}:{share_format}"
        if await self._db[SHARES].find_one({"_id": share_id}, session=self._session):
            return False
        await self._db[SHARES].insert_one(
            {"_id": share_id, "response_id": response_id, "at": at}, session=self._session
        )
        return True

    async def of_responses(self, response_ids: Sequence[str]) -> list[ShareMarker]:
        markers = []
        for response_id in response_ids:  # equality on the indexed field, per response
            async for doc in self._db[SHARES].find(
                {"response_id": response_id}, session=self._session
            ):
                _, shared_with, share_format = str(doc["_id"]).rsplit(":", 2)
                markers.append(
                    ShareMarker(response_id, shared_with, share_format, stored_datetime(doc["at"]))
                )
        return markers

    async def delete_of_responses(self, response_ids: Sequence[str]) -> int:
        deleted = 0
        for response_id in response_ids:
            result = await self._db[SHARES].delete_many(
                {"response_id": response_id}, session=self._session
            )
            deleted += result.deleted_count
        return deleted


class MongoTenants(_OnDatabase):
    __slots__ = ()

    async def register(self, tenant: str, at: datetime) -> None:
        await self._db[TENANTS].replace_one(
            {"_id": tenant}, {"_id": tenant, "at": at}, upsert=True, session=self._session
        )

    async def is_registered(self, tenant: str) -> bool:
        return await self._db[TENANTS].find_one({"_id": tenant}, session=self._session) is not None


class MongoAccessLog(_OnDatabase):
    __slots__ = ()

    async def record(
        self,
        principal: Principal,
        *,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None:
        await record_access(
            self._db,
            service=SERVICE,
            principal=principal,
            resident=resident,
            action=action,
            resource=resource,
            reason=reason,
            on_behalf_of=on_behalf_of,
            session=self._session,
        )

    async def anonymise_resident(self, person_id: str) -> int:
        return await access_log.anonymise_resident(self._db, person_id, session=self._session)


class MongoMailOutbox(_OnDatabase):
    __slots__ = ()

    async def stage(self, mail: Mail) -> None:
        await stage_mail(self._db, mail, session=self._session)

    async def delete_to(self, addresses: Sequence[str]) -> int:
        deleted = 0
        for address in addresses:
            result = await self._db[MAIL_OUTBOX].delete_many({"to": address}, session=self._session)
            deleted += result.deleted_count
        return deleted


class MongoPrivacyRecords(_OnDatabase):
    __slots__ = ()

    async def forget_requests(self, person_id: str) -> int:
        replays = self._db[IDEMPOTENCY]
        # Keys are scoped `<caller subject>:<route>`: ';' sorts right after ':'.
        own = await replays.delete_many(
            {"_id": {"$gte": f"{person_id}:", "$lt": f"{person_id};"}}, session=self._session
        )
        # Staff requests about the person (an assisted start, an invitation) stored the
        # response, which names the person.
        about = await replays.delete_many({"body.person_id": person_id}, session=self._session)
        return own.deleted_count + about.deleted_count

    async def remember_erased(self, tenant: str, person_id: str) -> None:
        await erasure.remember_erased(self._db, tenant, person_id, session=self._session)


def mongo_repositories(
    db: Db,
    session: Session | None,
    *,
    batched_responses: Callable[[str], Awaitable[Document | None]] | None = None,
) -> Repositories:
    """The repositories of `db`; writes join `session`'s transaction (None: no transaction)."""
    return Repositories(
        instruments=MongoInstruments(db, session),
        responses=MongoResponses(db, session, batched_responses),
        invitations=MongoInvitations(db, session),
        consents=MongoConsents(db, session),
        shares=MongoShares(db, session),
        tenants=MongoTenants(db, session),
        access_log=MongoAccessLog(db, session),
        mail=MongoMailOutbox(db, session),
        privacy=MongoPrivacyRecords(db, session),
    )


__all__ = [
    "AccessLog",
    "ConsentRepository",
    "Effect",
    "InstrumentRepository",
    "InvitationRepository",
    "MailOutbox",
    "PrivacyRecords",
    "RenderedSubmit",
    "Repositories",
    "ResponseRepository",
    "ShareMarker",
    "ShareRepository",
    "TenantRegistry",
    "Work",
    "mongo_repositories",
]
