"""Placement use cases: learn scored responses and measurements from events, suggest the
entry step of a long path by the tenant's rules, let the resident see why (and start
elsewhere), let a professional override; every suggestion and choice is recorded and
published as `path_placed`.

A measurement (`measurement_recorded`) refers to its response; the phases are in the
response (`response_submitted`). The two arrive on different streams in either order: the
one that completes the pair places. An instrument without phases is placed by score bands
from its response alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.learning_paths import PathPlaced
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.outbox import Staged
from wijkkracht_common.texts import Text

from learning_paths.adapters.repositories import Repository
from learning_paths.domain import access
from learning_paths.domain import enrolment as enrolment_rules
from learning_paths.domain.errors import InvalidContent, Issue
from learning_paths.domain.placement import (
    Choice,
    PathEntry,
    Placement,
    PlacementRule,
    PlacementSource,
    ResponseFacts,
    Suggestion,
    placement_id,
    rule_ids_unique,
    suggest,
)
from learning_paths.service import problems
from learning_paths.service.context import Context
from learning_paths.service.progress import may_see_progress


def facts_of(data: ResponseSubmitted) -> ResponseFacts | None:
    if data.person_id is None:  # anonymous responses place nobody
        return None
    return ResponseFacts(
        response_id=data.response_id,
        person_id=data.person_id,
        family=data.family,
        instrument_id=data.instrument_id,
        submitted_at=data.submitted_at,
        phases=dict(data.phases),
        dimension_scores=dict(data.dimension_scores),
    )


async def path_entries(repo: Repository, path_ids: Sequence[str]) -> dict[str, PathEntry]:
    """Entry points of the published paths the rules name (their first step and title)."""
    entries: dict[str, PathEntry] = {}
    for path_id in dict.fromkeys(path_ids):
        content = await repo.content(path_id)
        if content is None or content.kind != "path" or content.published_version is None:
            continue
        version = await repo.version(content.id, content.published_version)
        if version is None:
            continue
        points: dict[str, tuple[int, str, str]] = {}
        nl = version.variant("nl")
        for point in version.entry_points:
            step_id = version.entry_step(point.key)
            step = nl.step(step_id)
            points[point.key] = (point.item, step_id, step.title if step else step_id)
        entries[path_id] = PathEntry(path_id, nl.title, points)
    return entries


def placed_event(placement: Placement, *, tenant: str, actor: str | None) -> Envelope[Any]:
    last = placement.choices[-1] if placement.choices else None
    professional = last is not None and last.role == "professional"
    return new_event(
        PathPlaced(
            placement_id=placement.id,
            person_id=placement.person_id,
            path_id=placement.path_id,
            step_id=placement.effective_step,
            entry_point=placement.entry_point,
            source="professional" if professional else placement.source,
            measurement_id=placement.measurement_id,
            response_id=placement.response_id,
            theme=placement.theme,
            phase=placement.phase,
            organisation=last.organisation if professional and last else None,
            placed_at=last.at if professional and last else placement.placed_at,
        ),
        tenant=tenant,
        subject=placement.id,
        actor=actor,
    )


class Placer:
    """The tenant's rules and their paths' entry points, read once per batch of events."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._loaded: tuple[list[PlacementRule], dict[str, PathEntry]] | None = None

    async def rules(self) -> tuple[list[PlacementRule], dict[str, PathEntry]]:
        if self._loaded is None:
            rules = await self.repo.rules()
            entries = await path_entries(self.repo, [r.path_id for r in rules]) if rules else {}
            self._loaded = (rules, entries)
        return self._loaded


async def place_many(
    repo: Repository,
    items: Sequence[tuple[ResponseFacts, PlacementSource]],
    *,
    now: datetime,
    tenant: str,
    actor: str | None,
    placer: Placer | None = None,
) -> list[Staged]:
    """Suggest entry steps for each (facts, source): a suggestion replaces an earlier one
    the resident has not acted on; once they started, the new suggestion is kept beside
    their choice. Existing placements are read, and the new ones written, in bulk."""
    rules, entries = await (placer or Placer(repo)).rules()
    if not rules or not items:
        return []
    made: dict[str, Placement] = {}
    for facts, source in items:
        for found in suggest(rules, facts, entries):
            placement = _placement(found, facts, source, now)
            made[placement.id] = placement  # a later event about the same path wins
    existing = await repo.placements_by_ids(sorted(made))
    for key, placement in made.items():
        before = existing.get(key)
        if before is not None and before.status != "suggested":
            made[key] = placement.model_copy(
                update={
                    "status": before.status,
                    "enrolment_id": before.enrolment_id,
                    "choices": before.choices,
                }
            )
    await repo.save_placements(list(made.values()))
    return [placed_event(p, tenant=tenant, actor=actor) for p in made.values()]


async def place(
    repo: Repository,
    facts: ResponseFacts,
    *,
    source: PlacementSource,
    now: datetime,
    tenant: str,
    actor: str | None,
    placer: Placer | None = None,
) -> list[Staged]:
    return await place_many(
        repo, [(facts, source)], now=now, tenant=tenant, actor=actor, placer=placer
    )


async def responses_arrived(
    repo: Repository, envelopes: Sequence[Envelope[ResponseSubmitted]], now: datetime
) -> list[Staged]:
    """A batch of responses (of one tenant): their facts are kept; an instrument without
    phases places at once, one with phases when its measurement is known (it came first)."""
    facts = [f for f in (facts_of(e.data) for e in envelopes) if f is not None]
    if not facts:
        return []
    measured = await repo.measurements_of([f.response_id for f in facts])
    facts = [
        f.model_copy(update={"measurement_id": measured[f.response_id]})
        if f.response_id in measured
        else f
        for f in facts
    ]
    await repo.save_facts_many(facts)
    ready: list[tuple[ResponseFacts, PlacementSource]] = [
        (f, "response") if not f.has_phases else (f, "measurement")
        for f in facts
        if not f.has_phases or f.measurement_id is not None
    ]
    first = envelopes[0]
    return await place_many(repo, ready, now=now, tenant=first.tenant, actor=first.actor)


async def measurements_arrived(
    repo: Repository, envelopes: Sequence[Envelope[MeasurementRecorded]], now: datetime
) -> list[Staged]:
    """A batch of measurements (of one tenant): each places with its response's phases; a
    measurement whose response has not arrived yet is noted (the response places then)."""
    known = await repo.facts_many([e.data.response_id for e in envelopes])
    ready: list[tuple[ResponseFacts, PlacementSource]] = []
    early: list[MeasurementRecorded] = []
    for envelope in envelopes:
        data = envelope.data
        facts = known.get(data.response_id)
        if facts is None:
            early.append(data)
        elif facts.has_phases:
            ready.append(
                (facts.model_copy(update={"measurement_id": data.measurement_id}), "measurement")
            )
    await repo.note_measurements([(d.response_id, d.measurement_id, d.person_id) for d in early])
    first = envelopes[0]
    return await place_many(repo, ready, now=now, tenant=first.tenant, actor=first.actor)


def _placement(
    found: Suggestion, facts: ResponseFacts, source: PlacementSource, now: datetime
) -> Placement:
    return Placement(
        id=placement_id(facts.person_id, found.path_id),
        person_id=facts.person_id,
        path_id=found.path_id,
        entry_point=found.entry_point,
        step_id=found.step_id,
        item=found.item,
        theme=found.theme,
        phase=found.phase,
        score=found.score,
        reason=found.reason,
        source=source,
        rule_id=found.rule.id,
        measurement_id=facts.measurement_id,
        response_id=facts.response_id,
        placed_at=now,
    )


async def on_response(
    repo: Repository, envelope: Envelope[ResponseSubmitted], now: datetime
) -> list[Staged]:
    return await responses_arrived(repo, [envelope], now)


async def on_measurement(
    repo: Repository, envelope: Envelope[MeasurementRecorded], now: datetime
) -> list[Staged]:
    return await measurements_arrived(repo, [envelope], now)


async def mine(ctx: Context, principal: Principal) -> list[Placement]:
    if principal.person_id is None:
        return []
    repo = await ctx.reader(principal.tenant)
    return await repo.placements_of_person(principal.person_id)


async def override(
    ctx: Context,
    principal: Principal,
    *,
    organisation: str,
    person_id: str,
    path_id: str,
    entry_step: str,
) -> Placement:
    """A professional sets another entry step (with consent, access-logged, recorded)."""
    now = ctx.now()

    async def work(repo: Repository) -> tuple[Placement, list[Staged]]:
        if not await may_see_progress(repo, principal, organisation, person_id):
            raise problems.resident_not_found()
        placement = await repo.placement(placement_id(person_id, path_id))
        content = await repo.content(path_id)
        if placement is None or content is None or content.published_version is None:
            raise problems.not_found(Text("Geen plaatsing gevonden.", "No placement found."))
        version = await repo.version(content.id, content.published_version)
        assert version is not None
        if entry_step not in version.step_ids():
            raise problems.invalid_content(
                InvalidContent.single(
                    "entry_step",
                    "unknown_step",
                    Text("Deze stap bestaat niet.", "This step does not exist."),
                )
            )
        choice = Choice(
            by=principal.subject,
            role="professional",
            organisation=organisation,
            entry_step=entry_step,
            at=now,
        )
        updated = placement.model_copy(
            update={"status": "overridden", "choices": (*placement.choices, choice)}
        )
        if placement.enrolment_id:
            enrolment = await repo.enrolment(placement.enrolment_id)
            if enrolment is not None and enrolment.status != "completed":
                enrolled = await repo.version(enrolment.content_id, enrolment.version)
                if enrolled is not None and entry_step in enrolled.step_ids():
                    await repo.save_enrolment(
                        enrolment_rules.change_entry(enrolment, enrolled, entry_step)
                    )
        await repo.save_placement(updated)
        await repo.record_access(
            principal,
            resident=person_id,
            action="update",
            resource=f"placement/{path_id}",
            reason="share_learning_progress",
            on_behalf_of=organisation,
        )
        return updated, [placed_event(updated, tenant=principal.tenant, actor=principal.subject)]

    return await ctx.commit(principal.tenant, work)


async def read_rules(ctx: Context, principal: Principal) -> list[PlacementRule]:
    if not principal.has_role(*access.RULE_READERS):
        raise problems.forbidden(
            Text("Alleen medewerkers lezen de regels.", "Only staff read the rules."),
            roles=list(access.RULE_READERS),
        )
    return await (await ctx.reader(principal.tenant)).rules()


async def replace_rules(
    ctx: Context, principal: Principal, rules: Sequence[PlacementRule]
) -> list[PlacementRule]:
    """The tenant admin replaces the rules; each must name a published path and one of its
    entry points (422 with the path of each error, nothing stored)."""
    if not principal.has_role(*access.RULE_EDITORS):
        raise problems.forbidden(
            Text("Alleen de regiobeheerder past de regels aan.", "Only the tenant admin edits."),
            roles=list(access.RULE_EDITORS),
        )

    async def work(repo: Repository) -> tuple[list[PlacementRule], list[Staged]]:
        entries = await path_entries(repo, [r.path_id for r in rules])
        issues: list[Issue] = []
        for n, rule in enumerate(rules):
            path = entries.get(rule.path_id)
            if path is None:
                issues.append(
                    Issue(
                        f"rules[{n}].path_id",
                        "unknown_path",
                        Text("Geen gepubliceerde leerlijn.", "No published path."),
                    )
                )
            elif rule.entry_point not in path.entry_points:
                issues.append(
                    Issue(
                        f"rules[{n}].entry_point",
                        "unknown_entry_point",
                        Text("Dit instappunt bestaat niet.", "No such entry point."),
                    )
                )
        issues.extend(
            Issue("rules", "duplicate_id", Text(f"Dubbele id {d}.", f"Duplicate id {d}."))
            for d in rule_ids_unique(rules)
        )
        if issues:
            raise problems.invalid_content(InvalidContent(issues))
        await repo.save_rules(rules)
        return list(rules), []

    return await ctx.commit(principal.tenant, work)
