"""Survey results joined to modules: a technology-acceptance (UTAUT) answer of a staff
member counts for the modules they assigned, a client-satisfaction answer of a resident for
the modules they completed, both within `WINDOW` before the answer, per organisation.

Only sums and counts per (module, organisation, survey, dimension) are kept: no answer, no
person, so the join leaves nothing to erase and reveals no individual (cells below k are
suppressed when published).
"""

from __future__ import annotations

from datetime import timedelta

from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.questionnaires import ResponseSubmitted

from learning_paths.adapters.repositories import Repository

STAFF_SURVEYS = frozenset({"technology-acceptance"})
RESIDENT_SURVEYS = frozenset({"client-satisfaction"})
WINDOW = timedelta(days=90)


async def on_survey(repo: Repository, envelope: Envelope[ResponseSubmitted]) -> int:
    """Add the answer's dimension scores to the cells of the modules it concerns; returns
    how many modules it counted for."""
    data = envelope.data
    person, family = data.person_id, data.family
    if data.purpose != "survey" or person is None or not data.dimension_scores:
        return 0
    since = data.submitted_at - WINDOW
    targets: dict[str, str] = {}  # content id → organisation
    if family in RESIDENT_SURVEYS:
        for enrolment in await repo.enrolments_of_person(person):
            done = enrolment.completed_at
            if done is not None and since <= done <= data.submitted_at:
                organisation = envelope.organisation or enrolment.organisation
                if organisation is None:
                    content = await repo.content(enrolment.content_id)
                    organisation = content.organisation if content else None
                if organisation is not None:
                    targets.setdefault(enrolment.content_id, organisation)
    elif family in STAFF_SURVEYS and envelope.organisation is not None:
        for enrolment in await repo.enrolments_assigned_by(envelope.organisation):
            assignment = enrolment.assignment
            if (
                assignment is not None
                and assignment.assigned_by == person
                and since <= assignment.assigned_at <= data.submitted_at
            ):
                targets.setdefault(enrolment.content_id, assignment.organisation)
    for content_id, organisation in sorted(targets.items()):
        await repo.add_survey_scores(content_id, organisation, family, dict(data.dimension_scores))
    return len(targets)
