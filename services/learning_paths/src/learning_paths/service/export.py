"""The export contract (architecture §9): this service's part of a person's data — their
enrolments, answers (their own words), placements with the reasons, reminder address, cohort
memberships and learning records — as JSON, with counts (`wijkkracht_common.export`)."""

from __future__ import annotations

from typing import Any

from wijkkracht_common import export
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.events.learning_paths import LearningPathsPersonDataExported
from wijkkracht_common.messaging import Delivery
from wijkkracht_common.storage import Database

from learning_paths.adapters.repositories import Repository
from learning_paths.service.context import Context


async def build_part(repo: Repository, person: str) -> dict[str, Any]:
    enrolments = await repo.enrolments_of_person(person)
    answers = await repo.answers_of_person(person)
    placements = await repo.placements_of_person(person)
    prefs = await repo.reminder_prefs(person)
    cohorts = await repo.cohorts_with_member(person)
    statements = await repo.statements_of_person(person)
    return {
        "enrolments": [e.model_dump(mode="json") for e in enrolments],
        "answers": [a.model_dump(mode="json") for a in answers],
        "placements": [p.model_dump(mode="json") for p in placements],
        "reminders": prefs.model_dump(mode="json") if prefs else None,
        "cohorts": [
            {"id": c.id, "organisation": c.organisation, "content_id": c.content_id}
            for c in cohorts
        ],
        "statements": statements,
        "counts": {
            "enrolments": len(enrolments),
            "answers": len(answers),
            "placements": len(placements),
            "reminder_prefs": int(prefs is not None),
            "cohorts": len(cohorts),
            "statements": len(statements),
        },
    }


async def on_export_requested(
    ctx: Context, envelope: Envelope[PersonExportRequested], delivery: Delivery
) -> bool:
    async def build(db: Database[dict[str, Any]], person: str) -> dict[str, Any]:
        return await build_part(ctx.repos(db, None), person)

    return await export.contribute(
        ctx.runtime, envelope, delivery, build=build, answer=LearningPathsPersonDataExported
    )
