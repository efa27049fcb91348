"""Cohorts: a professional runs a module as a group course — members, a start date and one
schedule shared by the group (the date each step is due)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from pydantic import Field
from wijkkracht_common.texts import Text

from learning_paths.domain.content import ContentVersion, Frozen
from learning_paths.domain.errors import InvalidContent, Issue

MAX_MEMBERS = 200


class ScheduledStep(Frozen):
    step_id: str
    due_on: date


class Cohort(Frozen):
    id: str
    organisation: str
    content_id: str
    version: int
    title: str = Field(min_length=1, max_length=200)
    start_on: date
    schedule: tuple[ScheduledStep, ...]
    members: tuple[str, ...] = ()
    created_by: str
    created_at: datetime

    @property
    def ends_on(self) -> date:
        return max((s.due_on for s in self.schedule), default=self.start_on)

    def due_at(self) -> datetime:
        """The group's due moment: the end of the last scheduled day (UTC)."""
        return datetime.combine(self.ends_on, time(23, 59)).replace(tzinfo=UTC)


def even_schedule(
    version: ContentVersion, start_on: date, every_days: int
) -> tuple[ScheduledStep, ...]:
    """One step every `every_days` days from the start date (the default shared schedule)."""
    return tuple(
        ScheduledStep(step_id=step_id, due_on=start_on + timedelta(days=every_days * n))
        for n, step_id in enumerate(version.step_ids())
    )


def check_schedule(
    version: ContentVersion, start_on: date, schedule: Sequence[ScheduledStep]
) -> tuple[ScheduledStep, ...]:
    """A given schedule: known steps, in the module's order, none before the start."""
    ids = version.step_ids()
    issues: list[Issue] = []
    previous: date | None = None
    for n, entry in enumerate(schedule):
        if entry.step_id not in ids:
            issues.append(
                Issue(
                    f"schedule[{n}].step_id",
                    "unknown_step",
                    Text("Deze stap bestaat niet.", "This step does not exist."),
                )
            )
        if entry.due_on < start_on or (previous is not None and entry.due_on < previous):
            issues.append(
                Issue(
                    f"schedule[{n}].due_on",
                    "out_of_order",
                    Text(
                        "Data liggen op of na de start, in volgorde.",
                        "Dates fall on or after the start, in order.",
                    ),
                )
            )
        previous = entry.due_on
    if issues:
        raise InvalidContent(issues)
    return tuple(schedule)


def with_members(cohort: Cohort, added: Sequence[str]) -> Cohort:
    members = list(cohort.members)
    members.extend(p for p in added if p not in members)
    if len(members) > MAX_MEMBERS:
        raise InvalidContent.single(
            "members",
            "too_many",
            Text(
                f"Een groep heeft hoogstens {MAX_MEMBERS} deelnemers.",
                f"A cohort has at most {MAX_MEMBERS} members.",
            ),
        )
    return cohort.model_copy(update={"members": tuple(members)})


def without_member(cohort: Cohort, person_id: str) -> Cohort:
    return cohort.model_copy(update={"members": tuple(m for m in cohort.members if m != person_id)})
