"""The service's own progress as xAPI statements, so one query of the learning record store
answers "what did this person do": a module or path started (attempted), a step completed
(with a quiz's score), a module completed. The actor is the person's account at identity;
the registration is the enrolment; no answer or other free text is included."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from learning_paths.domain.content import ContentVersion

ATTEMPTED = {
    "id": "http://adlnet.gov/expapi/verbs/attempted",
    "display": {"nl": "begon aan", "en": "attempted"},
}
COMPLETED = {
    "id": "http://adlnet.gov/expapi/verbs/completed",
    "display": {"nl": "rondde af", "en": "completed"},
}
MODULE_TYPE = "http://adlnet.gov/expapi/activities/module"
PATH_TYPE = "http://adlnet.gov/expapi/activities/course"
STEP_TYPE = "http://adlnet.gov/expapi/activities/lesson"
NAMESPACE = uuid.UUID("6f1d3b8e-2c4a-4f6e-9a53-1b7c0d9e8f21")


def statement_id(event_id: str) -> str:
    """Deterministic: the same event always gives the same statement (re-applied, no copy)."""
    return str(uuid.uuid5(NAMESPACE, event_id))


def person_agent(home_page: str, person_id: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": home_page, "name": person_id}}


def module_activity(base_url: str, version: ContentVersion, kind: str) -> dict[str, Any]:
    collection = "paths" if kind == "path" else "modules"
    names = {v: c.title for v, c in version.variants.items() if v in ("nl", "en")}
    return {
        "objectType": "Activity",
        "id": f"{base_url}/{collection}/{version.content_id}",
        "definition": {"name": names, "type": PATH_TYPE if kind == "path" else MODULE_TYPE},
    }


def step_activity(
    base_url: str, version: ContentVersion, kind: str, step_id: str
) -> dict[str, Any]:
    parent = module_activity(base_url, version, kind)
    names = {}
    for variant, content in version.variants.items():
        step = content.step(step_id)
        if step is not None and variant in ("nl", "en"):
            names[variant] = step.title
    return {
        "objectType": "Activity",
        "id": f"{parent['id']}/steps/{step_id}",
        "definition": {"name": names, "type": STEP_TYPE},
    }


def progress_statement(
    *,
    event_id: str,
    home_page: str,
    base_url: str,
    person_id: str,
    enrolment_id: str,
    version: ContentVersion,
    kind: str,
    verb: dict[str, Any],
    at: datetime,
    step_id: str | None = None,
    score: float | None = None,
    completed: bool = False,
) -> dict[str, Any]:
    module = module_activity(base_url, version, kind)
    target = step_activity(base_url, version, kind, step_id) if step_id else module
    statement: dict[str, Any] = {
        "id": statement_id(event_id),
        "actor": person_agent(home_page, person_id),
        "verb": verb,
        "object": target,
        "context": {
            "registration": enrolment_id,
            "platform": "Wijkkracht",
            "contextActivities": {"parent": [module]} if step_id else {},
        },
        "timestamp": at.isoformat(),
    }
    if not statement["context"]["contextActivities"]:
        del statement["context"]["contextActivities"]
    if score is not None:
        statement["result"] = {"score": {"scaled": round(score, 4)}, "completion": True}
    elif completed:
        statement["result"] = {"completion": True}
    return statement
