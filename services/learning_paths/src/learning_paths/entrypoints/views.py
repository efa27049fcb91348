"""How domain objects are shown over HTTP (JSON-ready dicts). Texts the service writes are
given in Dutch and English (`{"nl": ..., "en": ...}`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wijkkracht_common.texts import Text

from learning_paths.adapters.social_map import LocalOffer
from learning_paths.domain.answers import Answer
from learning_paths.domain.cohorts import Cohort
from learning_paths.domain.content import Content, ContentVersion, Step
from learning_paths.domain.enrolment import Enrolment
from learning_paths.domain.placement import Placement, PlacementRule
from learning_paths.presentation.pages import markdown_html
from learning_paths.service.progress import AssignmentRow, EnrolmentProgress, ResidentProgress


def text(value: Text) -> dict[str, str]:
    return {"nl": value.nl, "en": value.en}


def content_view(content: Content) -> dict[str, Any]:
    return {
        **content.model_dump(mode="json"),
        "status": "published" if content.is_published else "draft",
        "has_draft": content.has_draft,
    }


def step_summary(step: Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "kind": step.kind,
        "title": step.title,
        "item": step.item,
        "minutes": step.minutes,
        "module_id": step.module_id,
    }


def step_view(step: Step) -> dict[str, Any]:
    """A step to show: its Markdown and the HTML rendered from it; a quiz without the
    right answers."""
    data = step.model_dump(mode="json", exclude={"questions"})
    data["html"] = markdown_html(step.body)
    data["questions"] = [
        {"id": q.id, "text": q.text, "options": [o.text for o in q.options]} for q in step.questions
    ]
    return data


def version_view(version: ContentVersion, variant: str | None, *, editor: bool) -> dict[str, Any]:
    shown = version.variant(variant)
    body: dict[str, Any] = {
        "version": version.version,
        "status": version.status,
        "variant": shown.variant,
        "variants": sorted(version.variants),
        "title": shown.title,
        "summary": shown.summary,
        "published_at": version.published_at.isoformat() if version.published_at else None,
        "entry_points": [p.model_dump() for p in version.entry_points],
        "steps": [step_summary(s) for s in shown.steps],
    }
    if editor:
        body["source"] = shown.source
        body["sources"] = {name: v.source for name, v in version.variants.items()}
    return body


def enrolment_view(enrolment: Enrolment, now: datetime) -> dict[str, Any]:
    data = enrolment.model_dump(mode="json")
    data["display_status"] = enrolment.display_status(now)
    data["current_step"] = enrolment.current_step()
    data["progress"] = {
        "completed": enrolment.completed_required(),
        "required": len(enrolment.required_steps),
    }
    return data


def answer_view(answer: Answer) -> dict[str, Any]:
    return answer.model_dump(mode="json", exclude={"person_id"})


def offer_view(offer: LocalOffer) -> dict[str, Any]:
    return {
        "entry_id": offer.entry_id,
        "name": offer.name,
        "description": offer.description,
        "url": offer.url,
        "category": offer.category,
        "distance_km": offer.distance_km,
    }


def progress_row(row: EnrolmentProgress, now: datetime) -> dict[str, Any]:
    """A staff view: status and step progress; answers only for shared steps."""
    enrolment = row.enrolment
    steps = row.version.variant(enrolment.variant).steps if row.version else ()
    done = {p.step_id: p for p in enrolment.steps}
    return {
        "enrolment_id": enrolment.id,
        "content_id": enrolment.content_id,
        "kind": enrolment.kind,
        "title": row.title,
        "version": enrolment.version,
        "origin": enrolment.origin,
        "organisation": enrolment.organisation,
        "status": enrolment.display_status(now),
        "due_at": enrolment.assignment.due_at.isoformat()
        if enrolment.assignment and enrolment.assignment.due_at
        else None,
        "started_at": enrolment.started_at.isoformat() if enrolment.started_at else None,
        "completed_at": enrolment.completed_at.isoformat() if enrolment.completed_at else None,
        "progress": {
            "completed": enrolment.completed_required(),
            "required": len(enrolment.required_steps),
        },
        "steps": [
            {
                "id": s.id,
                "kind": s.kind,
                "title": s.title,
                "required": s.id in enrolment.required_steps,
                "completed_at": done[s.id].completed_at.isoformat() if s.id in done else None,
                "score": done[s.id].score if s.id in done else None,
            }
            for s in steps
        ],
        "shared_answers": [answer_view(a) for a in row.shared_answers],
    }


def resident_progress_view(
    view: ResidentProgress, placements: list[Placement], now: datetime
) -> dict[str, Any]:
    return {
        "person_id": view.person_id,
        "organisation": view.organisation,
        "enrolments": [progress_row(r, now) for r in view.enrolments],
        "placements": [placement_view(p) for p in placements],
    }


def assignment_row(row: AssignmentRow, now: datetime) -> dict[str, Any]:
    enrolment = row.enrolment
    assert enrolment.assignment is not None
    body: dict[str, Any] = {
        "enrolment_id": enrolment.id,
        "person_id": enrolment.person_id,
        "content_id": enrolment.content_id,
        "title": row.title,
        "assigned_by": enrolment.assignment.assigned_by,
        "assigned_at": enrolment.assignment.assigned_at.isoformat(),
        "due_at": enrolment.assignment.due_at.isoformat() if enrolment.assignment.due_at else None,
        "cohort_id": enrolment.cohort_id,
        "progress_visible": row.progress_visible,
    }
    if row.progress_visible:
        body["status"] = enrolment.display_status(now)
        body["progress"] = {
            "completed": enrolment.completed_required(),
            "required": len(enrolment.required_steps),
        }
    return body


def placement_view(placement: Placement) -> dict[str, Any]:
    data = placement.model_dump(mode="json", exclude={"reason"})
    data["reason"] = text(placement.reason)
    data["effective_step"] = placement.effective_step
    return data


def rule_view(rule: PlacementRule) -> dict[str, Any]:
    return rule.model_dump(mode="json")


def cohort_view(cohort: Cohort) -> dict[str, Any]:
    return cohort.model_dump(mode="json")
