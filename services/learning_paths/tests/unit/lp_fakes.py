"""In-memory fakes for use-case tests without a database (model: cosmicpython's
tests/unit/test_handlers.py): a repository per tenant keyed by the fake database, a runtime
whose `commit` runs the work directly and keeps the staged events, a fixed clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from learning_paths.adapters.repositories import SurveySum
from learning_paths.domain.answers import Answer
from learning_paths.domain.cohorts import Cohort
from learning_paths.domain.content import Content, ContentKind, ContentVersion
from learning_paths.domain.enrolment import Enrolment
from learning_paths.domain.placement import Placement, PlacementRule, ResponseFacts
from learning_paths.domain.reminders import ReminderPrefs
from learning_paths.domain.usage import DEFAULT_K, UsageFact
from learning_paths.service.context import Context
from learning_paths.settings import Settings
from wijkkracht_common.auth import Principal
from wijkkracht_common.mail import Mail


@dataclass
class Store:
    contents: dict[str, Content] = field(default_factory=dict)
    versions: dict[tuple[str, int], ContentVersion] = field(default_factory=dict)
    enrolments: dict[str, Enrolment] = field(default_factory=dict)
    answers: dict[str, Answer] = field(default_factory=dict)
    placements: dict[str, Placement] = field(default_factory=dict)
    rules: list[PlacementRule] = field(default_factory=list)
    facts: dict[str, ResponseFacts] = field(default_factory=dict)
    measurements: dict[str, tuple[str, str]] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    prefs: dict[str, ReminderPrefs] = field(default_factory=dict)
    mails: list[Mail] = field(default_factory=list)
    usage: list[UsageFact] = field(default_factory=list)
    k: int = DEFAULT_K
    surveys: dict[tuple[str, str, str, str], tuple[float, int]] = field(default_factory=dict)
    consents: set[tuple[str, str]] = field(default_factory=set)
    access_log: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    erased: set[str] = field(default_factory=set)


class FakeRepository:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def content(self, content_id: str) -> Content | None:
        return self.s.contents.get(content_id)

    async def content_by_slug(self, organisation: str, slug: str) -> Content | None:
        return next(
            (
                c
                for c in self.s.contents.values()
                if c.organisation == organisation and c.slug == slug
            ),
            None,
        )

    async def published_by_slug(self, slug: str, visible_to: Sequence[str]) -> list[Content]:
        return [
            c
            for c in self.s.contents.values()
            if c.slug == slug
            and c.is_published
            and ("tenant" in visible_to and c.scope == "tenant")
        ]

    async def save_content(self, content: Content) -> None:
        self.s.contents[content.id] = content

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
        def visible(c: Content) -> bool:
            key = "tenant" if c.scope == "tenant" else f"org:{c.organisation}"
            return (c.is_published and key in visible_to) or c.organisation in editor_of

        found = [
            c
            for c in sorted(self.s.contents.values(), key=lambda c: c.id)
            if c.kind == kind and visible(c) and (theme is None or c.theme == theme)
        ]
        return found[:limit], None

    async def version(self, content_id: str, version: int) -> ContentVersion | None:
        return self.s.versions.get((content_id, version))

    async def save_version(self, version: ContentVersion) -> None:
        self.s.versions[(version.content_id, version.version)] = version

    async def contents_of_organisation(self, organisation: str) -> list[Content]:
        return [c for c in self.s.contents.values() if c.organisation == organisation]

    async def all_contents(self) -> list[Content]:
        return list(self.s.contents.values())

    async def enrolment(self, enrolment_id: str) -> Enrolment | None:
        return self.s.enrolments.get(enrolment_id)

    async def save_enrolment(self, enrolment: Enrolment) -> None:
        self.s.enrolments[enrolment.id] = enrolment

    async def enrolments_of_person(self, person_id: str) -> list[Enrolment]:
        return sorted(
            (e for e in self.s.enrolments.values() if e.person_id == person_id), key=lambda e: e.id
        )

    async def enrolment_page(
        self, filter_: Any, *, limit: int, cursor: str | None
    ) -> tuple[list[Enrolment], str | None]:
        query = filter_.query()
        found = [
            e
            for e in sorted(self.s.enrolments.values(), key=lambda e: e.id)
            if all(getattr(e, k) == v for k, v in query.items())
        ]
        return found[:limit], None

    async def enrolments_of_cohort(self, cohort_id: str) -> list[Enrolment]:
        return [e for e in self.s.enrolments.values() if e.cohort_id == cohort_id]

    async def enrolments_of_content(self, content_ids: Sequence[str]) -> list[Enrolment]:
        return [e for e in self.s.enrolments.values() if e.content_id in content_ids]

    async def enrolments_assigned_by(self, organisation: str) -> list[Enrolment]:
        return [e for e in self.s.enrolments.values() if e.organisation == organisation]

    async def enrolments_due_before(self, moment: datetime) -> list[Enrolment]:
        return [
            e
            for e in self.s.enrolments.values()
            if e.assignment
            and e.assignment.due_at
            and e.assignment.due_at <= moment
            and e.status != "completed"
        ]

    async def delete_enrolments_of_person(self, person_id: str) -> int:
        gone = [k for k, e in self.s.enrolments.items() if e.person_id == person_id]
        for key in gone:
            del self.s.enrolments[key]
        return len(gone)

    async def answer(self, answer_id: str) -> Answer | None:
        return self.s.answers.get(answer_id)

    async def save_answer(self, answer: Answer) -> None:
        self.s.answers[answer.id] = answer

    async def answers_of_enrolment(self, enrolment_id: str) -> list[Answer]:
        return [a for a in self.s.answers.values() if a.enrolment_id == enrolment_id]

    async def answers_of_person(self, person_id: str) -> list[Answer]:
        return [a for a in self.s.answers.values() if a.person_id == person_id]

    async def delete_answers_of_person(self, person_id: str) -> int:
        gone = [k for k, a in self.s.answers.items() if a.person_id == person_id]
        for key in gone:
            del self.s.answers[key]
        return len(gone)

    async def rules(self) -> list[PlacementRule]:
        return list(self.s.rules)

    async def save_rules(self, rules: Sequence[PlacementRule]) -> None:
        self.s.rules = list(rules)

    async def placement(self, placement_id: str) -> Placement | None:
        return self.s.placements.get(placement_id)

    async def save_placement(self, placement: Placement) -> None:
        self.s.placements[placement.id] = placement

    async def placements_of_person(self, person_id: str) -> list[Placement]:
        return [p for p in self.s.placements.values() if p.person_id == person_id]

    async def delete_placements_of_person(self, person_id: str) -> int:
        gone = [k for k, p in self.s.placements.items() if p.person_id == person_id]
        for key in gone:
            del self.s.placements[key]
        return len(gone)

    async def placements_by_ids(self, placement_ids: Sequence[str]) -> dict[str, Placement]:
        return {i: self.s.placements[i] for i in placement_ids if i in self.s.placements}

    async def save_placements(self, placements: Sequence[Placement]) -> None:
        for placement in placements:
            self.s.placements[placement.id] = placement

    async def facts_many(self, response_ids: Sequence[str]) -> dict[str, ResponseFacts]:
        return {i: self.s.facts[i] for i in response_ids if i in self.s.facts}

    async def save_facts_many(self, facts: Sequence[ResponseFacts]) -> None:
        for item in facts:
            self.s.facts[item.response_id] = item

    async def measurements_of(self, response_ids: Sequence[str]) -> dict[str, str]:
        return {i: self.s.measurements[i][0] for i in response_ids if i in self.s.measurements}

    async def note_measurements(self, notes: Sequence[tuple[str, str, str]]) -> None:
        for response_id, measurement_id, person in notes:
            self.s.measurements[response_id] = (measurement_id, person)

    async def delete_facts_of_person(self, person_id: str) -> int:
        facts = [k for k, f in self.s.facts.items() if f.person_id == person_id]
        measured = [k for k, (_, p) in self.s.measurements.items() if p == person_id]
        for key in facts:
            del self.s.facts[key]
        for key in measured:
            del self.s.measurements[key]
        return len(facts) + len(measured)

    async def cohort(self, cohort_id: str) -> Cohort | None:
        return self.s.cohorts.get(cohort_id)

    async def save_cohort(self, cohort: Cohort) -> None:
        self.s.cohorts[cohort.id] = cohort

    async def cohorts_of_organisation(self, organisation: str) -> list[Cohort]:
        return [c for c in self.s.cohorts.values() if c.organisation == organisation]

    async def cohorts_with_member(self, person_id: str) -> list[Cohort]:
        return [c for c in self.s.cohorts.values() if person_id in c.members]

    async def reminder_prefs(self, person_id: str) -> ReminderPrefs | None:
        return self.s.prefs.get(person_id)

    async def all_reminder_prefs(self) -> list[ReminderPrefs]:
        return list(self.s.prefs.values())

    async def save_reminder_prefs(self, prefs: ReminderPrefs) -> None:
        self.s.prefs[prefs.person_id] = prefs

    async def delete_reminder_prefs(self, person_id: str) -> int:
        return 1 if self.s.prefs.pop(person_id, None) else 0

    async def stage_mail(self, message: Mail) -> None:
        self.s.mails.append(message)

    async def add_usage_facts(self, facts: Sequence[UsageFact]) -> None:
        self.s.usage.extend(facts)

    async def usage_facts(self, content_ids: Sequence[str]) -> list[UsageFact]:
        return [f for f in self.s.usage if f.content_id in content_ids]

    async def privacy_k(self) -> int:
        return self.s.k

    async def save_privacy_k(self, k: int) -> None:
        self.s.k = k

    async def add_survey_scores(
        self, content_id: str, organisation: str, family: str, scores: dict[str, float]
    ) -> None:
        for dimension, score in scores.items():
            key = (content_id, organisation, family, dimension)
            total, count = self.s.surveys.get(key, (0.0, 0))
            self.s.surveys[key] = (total + score, count + 1)

    async def survey_sums(self, content_ids: Sequence[str]) -> list[SurveySum]:
        return [
            SurveySum(c, o, f, d, total, count)
            for (c, o, f, d), (total, count) in self.s.surveys.items()
            if c in content_ids
        ]

    async def consent_given(self, person_id: str, organisation: str) -> bool:
        return (person_id, organisation) in self.s.consents

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
        self.s.access_log.append(
            {
                "actor": principal.subject,
                "resident": resident,
                "action": action,
                "resource": resource,
                "reason": reason,
                "on_behalf_of": on_behalf_of,
            }
        )

    async def forget_person(self, tenant: str, person_id: str) -> dict[str, int]:
        consents = {c for c in self.s.consents if c[0] == person_id}
        self.s.consents -= consents
        logged = 0
        for record in self.s.access_log:
            if record["resident"] == person_id:
                record["resident"] = "erased-x"
                logged += 1
        self.s.erased.add(person_id)
        return {"consent_states": len(consents), "access_log_anonymised": logged}

    async def statements_of_person(self, person_id: str) -> list[dict[str, Any]]:
        return [s["statement"] for s in self.s.statements if person_id in s["persons"]]

    async def record_statements(
        self, statements: Sequence[dict[str, Any]], *, home_page: str
    ) -> None:
        known = {s["statement"]["id"] for s in self.s.statements}
        for statement in statements:
            if statement["id"] not in known:
                person = statement["actor"]["account"]["name"]
                self.s.statements.append({"statement": statement, "persons": [person]})

    async def delete_statements_of_person(self, person_id: str) -> int:
        before = len(self.s.statements)
        self.s.statements = [s for s in self.s.statements if person_id not in s["persons"]]
        return before - len(self.s.statements)


class FakeStorage:
    async def tenant_db(self, tenant: str) -> Any:
        return tenant  # the fake repository factory keys its stores by it


class FakeRuntime:
    def __init__(self) -> None:
        self.storage = FakeStorage()
        self.staged: list[Any] = []

    async def commit(
        self,
        tenant: str,
        work: Callable[[Any, Any], Awaitable[tuple[Any, Sequence[Any]]]],
        *,
        batch_events: bool = False,
    ) -> Any:
        result, events = await work(tenant, None)
        self.staged.extend(events)
        return result

    def events(self, name: str | None = None) -> list[Any]:
        return [e for e in self.staged if name is None or e.data.event_name == name]


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


@dataclass
class Harness:
    ctx: Context
    runtime: FakeRuntime
    stores: dict[str, Store]
    clock: Clock

    def store(self, tenant: str = "t1") -> Store:
        return self.stores.setdefault(tenant, Store())


def harness() -> Harness:
    stores: dict[str, Store] = {}
    runtime = FakeRuntime()
    clock = Clock()
    ctx = Context(
        runtime=runtime,
        settings=Settings(env="test"),
        repos=lambda db, _session: FakeRepository(stores.setdefault(db, Store())),  # type: ignore[arg-type,return-value]
        clock=clock,
    )
    return Harness(ctx, runtime, stores, clock)


def principal(sub: str, tenant: str = "t1", **orgs: list[str]) -> Principal:
    org_roles = {k.replace("_", "-"): frozenset(v) for k, v in orgs.items()}
    return Principal(
        subject=sub,
        tenant=tenant,
        roles=frozenset(r for roles in org_roles.values() for r in roles),
        orgs=org_roles,
    )
