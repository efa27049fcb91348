"""Persistence of learning paths: the only module that reads or writes its collections.

`Repository` is what the service layer uses: domain objects in and out, never a raw document.
`MongoRepository(db, session)` implements it on one tenant's database
(`wk_learning_paths_<tenant>`), inside the transaction of `runtime.commit` when given its
session; unit tests use an in-memory fake (`tests/unit/fakes.py`).

Storage notes: documents are written whole (`replace_one` with their own `_id`), so stored
date-times keep their type on every engine; values queried by range (`due_at`) are
top-level fields; array fields are matched with `$in` only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ReplaceOne
from wijkkracht_common import access_log, consent, erasure, mail
from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.pagination import paginate
from wijkkracht_common.storage import (
    ASCENDING,
    Database,
    IndexModel,
    IndexSpec,
    Session,
    restore_datetimes,
)

from learning_paths.adapters.lrs import (
    CLOCK,
    STATEMENTS,
    LrsStore,
    document_of,
    exact,
    seq_time,
)
from learning_paths.domain.answers import Answer
from learning_paths.domain.cohorts import Cohort
from learning_paths.domain.content import Content, ContentKind, ContentVersion
from learning_paths.domain.enrolment import Enrolment
from learning_paths.domain.placement import Placement, PlacementRule, ResponseFacts
from learning_paths.domain.reminders import ReminderPrefs
from learning_paths.domain.usage import DEFAULT_K, UsageFact
from learning_paths.domain.xapi import statements as xapi_rules
from learning_paths.domain.xapi.formats import format_timestamp

Db = Database[dict[str, Any]]

CONTENTS = "contents"
VERSIONS = "content_versions"
ENROLMENTS = "enrolments"
ANSWERS = "answers"
PLACEMENTS = "placements"
SETTINGS = "settings"
RESPONSE_FACTS = "response_facts"
MEASUREMENTS = "measurements"
COHORTS = "cohorts"
REMINDER_PREFS = "reminder_prefs"
USAGE_FACTS = "usage_facts"
SURVEY_CELLS = "survey_cells"
POLICY_ID = "privacy_policy"
RULES_ID = "placement_rules"

# No index may name `_id` (the embedded server's inserts fail; see the developer guide).
INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(
        CONTENTS,
        (
            IndexModel([("organisation", ASCENDING), ("slug", ASCENDING)], unique=True),
            IndexModel([("visible_to", ASCENDING)]),
        ),
    ),
    IndexSpec(VERSIONS, (IndexModel([("content_id", ASCENDING)]),)),
    IndexSpec(
        ENROLMENTS,
        (
            IndexModel([("person_id", ASCENDING)]),
            IndexModel([("content_id", ASCENDING)]),
            IndexModel([("organisation", ASCENDING)]),
            IndexModel([("cohort_id", ASCENDING)]),
            IndexModel([("due_at", ASCENDING)]),
        ),
    ),
    IndexSpec(
        ANSWERS,
        (IndexModel([("person_id", ASCENDING)]), IndexModel([("enrolment_id", ASCENDING)])),
    ),
    IndexSpec(PLACEMENTS, (IndexModel([("person_id", ASCENDING)]),)),
    IndexSpec(SETTINGS),
    IndexSpec(RESPONSE_FACTS, (IndexModel([("person_id", ASCENDING)]),)),
    IndexSpec(MEASUREMENTS, (IndexModel([("person_id", ASCENDING)]),)),
    IndexSpec(COHORTS, (IndexModel([("organisation", ASCENDING)]),)),
    IndexSpec(REMINDER_PREFS),
    IndexSpec(USAGE_FACTS, (IndexModel([("content_id", ASCENDING)]),)),
    IndexSpec(SURVEY_CELLS, (IndexModel([("content_id", ASCENDING)]),)),
)


class Repository(Protocol):
    """One tenant's learning paths; inside a use case's transaction every call is part of it."""

    # content
    async def content(self, content_id: str) -> Content | None: ...
    async def content_by_slug(self, organisation: str, slug: str) -> Content | None: ...
    async def published_by_slug(self, slug: str, visible_to: Sequence[str]) -> list[Content]: ...
    async def save_content(self, content: Content) -> None: ...
    async def catalogue(
        self,
        kind: ContentKind,
        *,
        visible_to: Sequence[str],
        editor_of: Sequence[str],
        theme: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Content], str | None]: ...
    async def version(self, content_id: str, version: int) -> ContentVersion | None: ...
    async def save_version(self, version: ContentVersion) -> None: ...
    async def contents_of_organisation(self, organisation: str) -> list[Content]: ...
    async def all_contents(self) -> list[Content]: ...

    # enrolments and answers
    async def enrolment(self, enrolment_id: str) -> Enrolment | None: ...
    async def save_enrolment(self, enrolment: Enrolment) -> None: ...
    async def enrolments_of_person(self, person_id: str) -> list[Enrolment]: ...
    async def enrolment_page(
        self, filter_: EnrolmentFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Enrolment], str | None]: ...
    async def enrolments_of_cohort(self, cohort_id: str) -> list[Enrolment]: ...
    async def enrolments_of_content(self, content_ids: Sequence[str]) -> list[Enrolment]: ...
    async def enrolments_assigned_by(self, organisation: str) -> list[Enrolment]: ...
    async def enrolments_due_before(self, moment: datetime) -> list[Enrolment]: ...
    async def delete_enrolments_of_person(self, person_id: str) -> int: ...
    async def answer(self, answer_id: str) -> Answer | None: ...
    async def save_answer(self, answer: Answer) -> None: ...
    async def answers_of_enrolment(self, enrolment_id: str) -> list[Answer]: ...
    async def answers_of_person(self, person_id: str) -> list[Answer]: ...
    async def delete_answers_of_person(self, person_id: str) -> int: ...

    # placement
    async def rules(self) -> list[PlacementRule]: ...
    async def save_rules(self, rules: Sequence[PlacementRule]) -> None: ...
    async def placement(self, placement_id: str) -> Placement | None: ...
    async def save_placement(self, placement: Placement) -> None: ...
    async def placements_of_person(self, person_id: str) -> list[Placement]: ...
    async def delete_placements_of_person(self, person_id: str) -> int: ...
    async def placements_by_ids(self, placement_ids: Sequence[str]) -> dict[str, Placement]: ...
    async def save_placements(self, placements: Sequence[Placement]) -> None: ...
    async def facts_many(self, response_ids: Sequence[str]) -> dict[str, ResponseFacts]: ...
    async def save_facts_many(self, facts: Sequence[ResponseFacts]) -> None: ...
    async def measurements_of(self, response_ids: Sequence[str]) -> dict[str, str]: ...
    async def note_measurements(self, notes: Sequence[tuple[str, str, str]]) -> None: ...
    async def delete_facts_of_person(self, person_id: str) -> int: ...

    # cohorts and reminders
    async def cohort(self, cohort_id: str) -> Cohort | None: ...
    async def save_cohort(self, cohort: Cohort) -> None: ...
    async def cohorts_of_organisation(self, organisation: str) -> list[Cohort]: ...
    async def cohorts_with_member(self, person_id: str) -> list[Cohort]: ...
    async def reminder_prefs(self, person_id: str) -> ReminderPrefs | None: ...
    async def all_reminder_prefs(self) -> list[ReminderPrefs]: ...
    async def save_reminder_prefs(self, prefs: ReminderPrefs) -> None: ...
    async def delete_reminder_prefs(self, person_id: str) -> int: ...
    async def stage_mail(self, message: mail.Mail) -> None: ...

    # usage figures
    async def add_usage_facts(self, facts: Sequence[UsageFact]) -> None: ...
    async def usage_facts(self, content_ids: Sequence[str]) -> list[UsageFact]: ...
    async def privacy_k(self) -> int: ...
    async def save_privacy_k(self, k: int) -> None: ...
    async def add_survey_scores(
        self, content_id: str, organisation: str, family: str, scores: dict[str, float]
    ) -> None: ...
    async def survey_sums(self, content_ids: Sequence[str]) -> list[SurveySum]: ...

    # privacy
    async def consent_given(self, person_id: str, organisation: str) -> bool: ...
    async def record_access(
        self,
        principal: Principal,
        *,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None: ...
    async def forget_person(self, tenant: str, person_id: str) -> dict[str, int]: ...
    async def statements_of_person(self, person_id: str) -> list[dict[str, Any]]: ...
    async def delete_statements_of_person(self, person_id: str) -> int: ...
    async def record_statements(
        self, statements: Sequence[dict[str, Any]], *, home_page: str
    ) -> None: ...


@dataclass(frozen=True)
class SurveySum:
    content_id: str
    organisation: str
    family: str
    dimension: str
    total: float
    count: int


class EnrolmentFilter(Protocol):
    def query(self) -> dict[str, Any]: ...


class PersonEnrolments:
    def __init__(self, person_id: str, content_id: str | None = None) -> None:
        self.person_id, self.content_id = person_id, content_id

    def query(self) -> dict[str, Any]:
        found: dict[str, Any] = {"person_id": self.person_id}
        if self.content_id:
            found["content_id"] = self.content_id
        return found


def _doc(model_id: str, data: dict[str, Any]) -> dict[str, Any]:
    data.pop("id", None)
    return {"_id": model_id, **data}


def _data(doc: dict[str, Any]) -> dict[str, Any]:
    data = restore_datetimes(doc)
    data["id"] = data.pop("_id")
    return data


def _prefs(doc: dict[str, Any]) -> ReminderPrefs:
    data = restore_datetimes(doc)
    data.pop("_id")
    return ReminderPrefs.model_validate(data)


def content_doc(content: Content) -> dict[str, Any]:
    doc = _doc(content.id, content.model_dump())
    # `visible_to`: the keys a reader matches published content by (see access.py).
    doc["visible_to"] = (
        (["tenant"] if content.scope == "tenant" else [f"org:{content.organisation}"])
        if content.is_published
        else []
    )
    return doc


def content_of(doc: dict[str, Any]) -> Content:
    data = _data(doc)
    data.pop("visible_to", None)
    return Content.model_validate(data)


def version_doc(version: ContentVersion) -> dict[str, Any]:
    data = version.model_dump()
    return {"_id": f"{version.content_id}:{version.version}", **data}


def version_of(doc: dict[str, Any]) -> ContentVersion:
    data = restore_datetimes(doc)
    data.pop("_id")
    return ContentVersion.model_validate(data)


def enrolment_doc(enrolment: Enrolment) -> dict[str, Any]:
    doc = _doc(enrolment.id, enrolment.model_dump())
    # Top-level copies for queries (range queries and equality on nested fields differ
    # between engines).
    doc["organisation"] = enrolment.organisation
    doc["due_at"] = enrolment.assignment.due_at if enrolment.assignment else None
    return doc


def enrolment_of(doc: dict[str, Any]) -> Enrolment:
    data = _data(doc)
    data.pop("organisation", None)
    data.pop("due_at", None)
    return Enrolment.model_validate(data)


class MongoRepository:
    """Learning paths of one tenant's database, optionally inside a transaction."""

    def __init__(self, db: Db, session: Session | None = None) -> None:
        self._db = db
        self._session = session

    async def _replace(self, collection: str, doc: dict[str, Any]) -> None:
        await self._db[collection].replace_one(
            {"_id": doc["_id"]}, doc, upsert=True, session=self._session
        )

    async def _one(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self._db[collection].find_one(
            {"_id": doc_id}, session=self._session
        )
        return found

    async def _many(
        self, collection: str, query: dict[str, Any], sort: str = "_id"
    ) -> list[dict[str, Any]]:
        cursor = (
            self._db[collection].find(exact(query), session=self._session).sort(sort, ASCENDING)
        )
        return [doc async for doc in cursor]

    async def _delete(self, collection: str, query: dict[str, Any]) -> int:
        result = await self._db[collection].delete_many(exact(query), session=self._session)
        return int(result.deleted_count)

    # content ---------------------------------------------------------------------------------

    async def content(self, content_id: str) -> Content | None:
        doc = await self._one(CONTENTS, content_id)
        return None if doc is None else content_of(doc)

    async def content_by_slug(self, organisation: str, slug: str) -> Content | None:
        doc = await self._db[CONTENTS].find_one(
            exact({"organisation": organisation, "slug": slug}), session=self._session
        )
        return None if doc is None else content_of(doc)

    async def published_by_slug(self, slug: str, visible_to: Sequence[str]) -> list[Content]:
        docs = await self._many(CONTENTS, {"slug": slug, "visible_to": {"$in": list(visible_to)}})
        return [content_of(d) for d in docs]

    async def save_content(self, content: Content) -> None:
        await self._replace(CONTENTS, content_doc(content))

    async def catalogue(
        self,
        kind: ContentKind,
        *,
        visible_to: Sequence[str],
        editor_of: Sequence[str],
        theme: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Content], str | None]:
        visible: dict[str, Any] = {"visible_to": {"$in": list(visible_to)}}
        if editor_of:
            visible = {"$or": [visible, {"organisation": {"$in": list(editor_of)}}]}
        query: dict[str, Any] = {"$and": [{"kind": kind}, visible]}
        if theme:
            query["$and"].append({"theme": theme})
        docs, next_cursor = await paginate(self._db[CONTENTS], query, limit=limit, cursor=cursor)
        return [content_of(d) for d in docs], next_cursor

    async def version(self, content_id: str, version: int) -> ContentVersion | None:
        doc = await self._one(VERSIONS, f"{content_id}:{version}")
        return None if doc is None else version_of(doc)

    async def save_version(self, version: ContentVersion) -> None:
        await self._replace(VERSIONS, version_doc(version))

    async def contents_of_organisation(self, organisation: str) -> list[Content]:
        return [content_of(d) for d in await self._many(CONTENTS, {"organisation": organisation})]

    async def all_contents(self) -> list[Content]:
        return [content_of(d) for d in await self._many(CONTENTS, {})]

    # enrolments and answers ------------------------------------------------------------------

    async def enrolment(self, enrolment_id: str) -> Enrolment | None:
        doc = await self._one(ENROLMENTS, enrolment_id)
        return None if doc is None else enrolment_of(doc)

    async def save_enrolment(self, enrolment: Enrolment) -> None:
        await self._replace(ENROLMENTS, enrolment_doc(enrolment))

    async def enrolments_of_person(self, person_id: str) -> list[Enrolment]:
        docs = await self._many(ENROLMENTS, {"person_id": person_id})
        return [enrolment_of(d) for d in docs]

    async def enrolment_page(
        self, filter_: EnrolmentFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[Enrolment], str | None]:
        docs, next_cursor = await paginate(
            self._db[ENROLMENTS], exact(filter_.query()), limit=limit, cursor=cursor
        )
        return [enrolment_of(d) for d in docs], next_cursor

    async def enrolments_of_cohort(self, cohort_id: str) -> list[Enrolment]:
        return [enrolment_of(d) for d in await self._many(ENROLMENTS, {"cohort_id": cohort_id})]

    async def enrolments_of_content(self, content_ids: Sequence[str]) -> list[Enrolment]:
        found: list[Enrolment] = []
        for content_id in content_ids:  # equality uses the index; `$in` would scan
            docs = await self._many(ENROLMENTS, {"content_id": content_id})
            found.extend(enrolment_of(d) for d in docs)
        return found

    async def enrolments_assigned_by(self, organisation: str) -> list[Enrolment]:
        docs = await self._many(ENROLMENTS, {"organisation": organisation})
        return [enrolment_of(d) for d in docs]

    async def enrolments_due_before(self, moment: datetime) -> list[Enrolment]:
        docs = await self._many(
            ENROLMENTS, {"due_at": {"$lte": moment}, "status": {"$ne": "completed"}}
        )
        return [enrolment_of(d) for d in docs]

    async def delete_enrolments_of_person(self, person_id: str) -> int:
        return await self._delete(ENROLMENTS, {"person_id": person_id})

    async def answer(self, answer_id: str) -> Answer | None:
        doc = await self._one(ANSWERS, answer_id)
        return None if doc is None else Answer.model_validate(_data(doc))

    async def save_answer(self, answer: Answer) -> None:
        await self._replace(ANSWERS, _doc(answer.id, answer.model_dump()))

    async def answers_of_enrolment(self, enrolment_id: str) -> list[Answer]:
        docs = await self._many(ANSWERS, {"enrolment_id": enrolment_id})
        return [Answer.model_validate(_data(d)) for d in docs]

    async def answers_of_person(self, person_id: str) -> list[Answer]:
        docs = await self._many(ANSWERS, {"person_id": person_id})
        return [Answer.model_validate(_data(d)) for d in docs]

    async def delete_answers_of_person(self, person_id: str) -> int:
        return await self._delete(ANSWERS, {"person_id": person_id})

    # placement -------------------------------------------------------------------------------

    async def rules(self) -> list[PlacementRule]:
        doc = await self._one(SETTINGS, RULES_ID)
        return [] if doc is None else [PlacementRule.model_validate(r) for r in doc["rules"]]

    async def save_rules(self, rules: Sequence[PlacementRule]) -> None:
        await self._replace(SETTINGS, {"_id": RULES_ID, "rules": [r.model_dump() for r in rules]})

    async def placement(self, placement_id: str) -> Placement | None:
        doc = await self._one(PLACEMENTS, placement_id)
        return None if doc is None else Placement.model_validate(_data(doc))

    async def save_placement(self, placement: Placement) -> None:
        await self._replace(PLACEMENTS, _doc(placement.id, placement.model_dump()))

    async def placements_of_person(self, person_id: str) -> list[Placement]:
        docs = await self._many(PLACEMENTS, {"person_id": person_id})
        return [Placement.model_validate(_data(d)) for d in docs]

    async def delete_placements_of_person(self, person_id: str) -> int:
        return await self._delete(PLACEMENTS, {"person_id": person_id})

    async def _by_ids(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        cursor = self._db[collection].find({"_id": {"$in": list(ids)}}, session=self._session)
        return [doc async for doc in cursor]

    async def _replace_many(self, collection: str, docs: Sequence[dict[str, Any]]) -> None:
        if docs:
            await self._db[collection].bulk_write(
                [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs],
                ordered=False,
                session=self._session,
            )

    async def placements_by_ids(self, placement_ids: Sequence[str]) -> dict[str, Placement]:
        docs = await self._by_ids(PLACEMENTS, placement_ids)
        return {d["_id"]: Placement.model_validate(_data(d)) for d in docs}

    async def save_placements(self, placements: Sequence[Placement]) -> None:
        await self._replace_many(PLACEMENTS, [_doc(p.id, p.model_dump()) for p in placements])

    async def facts_many(self, response_ids: Sequence[str]) -> dict[str, ResponseFacts]:
        found = {}
        for doc in await self._by_ids(RESPONSE_FACTS, response_ids):
            data = restore_datetimes(doc)
            data.pop("_id")
            found[doc["_id"]] = ResponseFacts.model_validate(data)
        return found

    async def save_facts_many(self, facts: Sequence[ResponseFacts]) -> None:
        await self._replace_many(
            RESPONSE_FACTS, [{"_id": f.response_id, **f.model_dump()} for f in facts]
        )

    async def measurements_of(self, response_ids: Sequence[str]) -> dict[str, str]:
        docs = await self._by_ids(MEASUREMENTS, response_ids)
        return {d["_id"]: str(d["measurement_id"]) for d in docs}

    async def note_measurements(self, notes: Sequence[tuple[str, str, str]]) -> None:
        await self._replace_many(
            MEASUREMENTS,
            [{"_id": r, "measurement_id": m, "person_id": p} for r, m, p in notes],
        )

    async def delete_facts_of_person(self, person_id: str) -> int:
        facts = await self._delete(RESPONSE_FACTS, {"person_id": person_id})
        return facts + await self._delete(MEASUREMENTS, {"person_id": person_id})

    # cohorts and reminders -------------------------------------------------------------------

    async def cohort(self, cohort_id: str) -> Cohort | None:
        doc = await self._one(COHORTS, cohort_id)
        return None if doc is None else Cohort.model_validate(_data(doc))

    async def save_cohort(self, cohort: Cohort) -> None:
        # dates (start, schedule) as ISO text: BSON has date-times only
        await self._replace(COHORTS, _doc(cohort.id, cohort.model_dump(mode="json")))

    async def cohorts_of_organisation(self, organisation: str) -> list[Cohort]:
        docs = await self._many(COHORTS, {"organisation": organisation})
        return [Cohort.model_validate(_data(d)) for d in docs]

    async def cohorts_with_member(self, person_id: str) -> list[Cohort]:
        docs = await self._many(COHORTS, {"members": {"$in": [person_id]}})
        return [Cohort.model_validate(_data(d)) for d in docs]

    async def reminder_prefs(self, person_id: str) -> ReminderPrefs | None:
        doc = await self._one(REMINDER_PREFS, person_id)
        return None if doc is None else _prefs(doc)

    async def all_reminder_prefs(self) -> list[ReminderPrefs]:
        docs = await self._many(REMINDER_PREFS, {})
        return [_prefs(d) for d in docs]

    async def save_reminder_prefs(self, prefs: ReminderPrefs) -> None:
        await self._replace(REMINDER_PREFS, {"_id": prefs.person_id, **prefs.model_dump()})

    async def delete_reminder_prefs(self, person_id: str) -> int:
        """The address and, with it, the mails to it still kept in the mail outbox."""
        prefs = await self.reminder_prefs(person_id)
        if prefs is None:
            return 0
        await self._delete(mail.MAIL_OUTBOX, {"to": prefs.email})
        return await self._delete(REMINDER_PREFS, {"_id": person_id})

    async def stage_mail(self, message: mail.Mail) -> None:
        await mail.stage_mail(self._db, message, session=self._session)

    # usage figures ---------------------------------------------------------------------------

    async def add_usage_facts(self, facts: Sequence[UsageFact]) -> None:
        if facts:
            docs = [{"_id": new_event_id(), **f.model_dump()} for f in facts]
            await self._db[USAGE_FACTS].insert_many(docs, session=self._session)

    async def usage_facts(self, content_ids: Sequence[str]) -> list[UsageFact]:
        found: list[UsageFact] = []
        for content_id in content_ids:
            for doc in await self._many(USAGE_FACTS, {"content_id": content_id}):
                data = restore_datetimes(doc)
                data.pop("_id")
                found.append(UsageFact.model_validate(data))
        return found

    async def privacy_k(self) -> int:
        doc = await self._one(SETTINGS, POLICY_ID)
        return DEFAULT_K if doc is None else int(doc["k"])

    async def save_privacy_k(self, k: int) -> None:
        await self._replace(SETTINGS, {"_id": POLICY_ID, "k": k})

    async def add_survey_scores(
        self, content_id: str, organisation: str, family: str, scores: dict[str, float]
    ) -> None:
        for dimension, score in scores.items():
            key = f"{content_id}|{organisation}|{family}|{dimension}"
            doc = await self._one(SURVEY_CELLS, key) or {
                "_id": key,
                "content_id": content_id,
                "organisation": organisation,
                "family": family,
                "dimension": dimension,
                "total": 0.0,
                "count": 0,
            }
            doc["total"] = float(doc["total"]) + float(score)
            doc["count"] = int(doc["count"]) + 1
            await self._replace(SURVEY_CELLS, doc)

    async def survey_sums(self, content_ids: Sequence[str]) -> list[SurveySum]:
        found: list[SurveySum] = []
        for content_id in content_ids:
            for doc in await self._many(SURVEY_CELLS, {"content_id": content_id}):
                found.append(
                    SurveySum(
                        content_id=doc["content_id"],
                        organisation=doc["organisation"],
                        family=doc["family"],
                        dimension=doc["dimension"],
                        total=float(doc["total"]),
                        count=int(doc["count"]),
                    )
                )
        return found

    # privacy ---------------------------------------------------------------------------------

    async def consent_given(self, person_id: str, organisation: str) -> bool:
        return await consent.consent_given(
            self._db, person_id, organisation, "share_learning_progress"
        )

    async def record_access(
        self,
        principal: Principal,
        *,
        resident: str,
        action: str,
        resource: str,
        reason: str,
        on_behalf_of: str | None,
    ) -> None:
        await access_log.record_access(
            self._db,
            service="learning_paths",
            principal=principal,
            resident=resident,
            action=action,
            resource=resource,
            reason=reason,
            on_behalf_of=on_behalf_of,
            session=self._session,
        )

    async def statements_of_person(self, person_id: str) -> list[dict[str, Any]]:
        docs = await self._many(STATEMENTS, {"persons": {"$in": [person_id]}})
        documents = await LrsStore(self._db, self._session).documents_of(person_id)
        return [json.loads(d["sj"]) for d in docs] + [
            {"document": d.doc_id, "kind": d.kind, "content_type": d.content_type}
            for d in documents
        ]

    async def record_statements(
        self, statements: Sequence[dict[str, Any]], *, home_page: str
    ) -> None:
        """The service's own progress as xAPI statements (authority: this service); a
        statement stored before (the same event applied again) is not stored twice."""
        if not statements:
            return
        store = LrsStore(self._db, self._session)
        known = await store.statements_by_ids([str(s["id"]) for s in statements])
        fresh = [s for s in statements if str(s["id"]).lower() not in known]
        authority = {
            "objectType": "Agent",
            "account": {"homePage": home_page, "name": "service:learning_paths"},
        }
        docs = []
        for statement, seq in zip(fresh, CLOCK.take(len(fresh)), strict=True):
            done = xapi_rules.complete(
                statement,
                statement_id=str(statement["id"]),
                stored=format_timestamp(seq_time(seq)),
                authority=authority,
            )
            docs.append(document_of(done, seq, home_page))
        if docs:
            await store.insert_statements(docs)

    async def delete_statements_of_person(self, person_id: str) -> int:
        """The person's statements, their xAPI documents, and attachments nobody else's
        statement uses any more."""
        store = LrsStore(self._db, self._session)
        before = await self._db[STATEMENTS].count_documents(
            {"persons": {"$in": [person_id]}}, session=self._session
        )
        hashes = await store.delete_statements_of(person_id)
        await store.delete_attachments(sorted(set(hashes) - await store.hashes_in_use(hashes)))
        documents = await store.delete_documents_of(person_id)
        return int(before) + documents

    async def forget_person(self, tenant: str, person_id: str) -> dict[str, int]:
        """The platform's part of an erasure: consent states, the access log (unlinked),
        the erased-person tombstone."""
        consents = await consent.forget_person(self._db, person_id, session=self._session)
        logged = await access_log.anonymise_resident(self._db, person_id, session=self._session)
        await erasure.remember_erased(self._db, tenant, person_id, session=self._session)
        return {"consent_states": consents, "access_log_anonymised": logged}
