"""The closed loop (issues 12 and 13): other services' outcomes recorded as interventions.

- learning paths' `module_completed` → an intervention `module_<theme>` (`path_<theme>` for a
  long path; `module_completed` / `path_completed` without a theme) for the resident, at the
  completion time, for the assigning organisation if any;
- the marketplace's `help_completed` → `help_received_<category>` for the person helped and
  `help_given_<category>` for the helper (participation counts as an intervention on the
  helper's own trajectory too), at the completion time.

The type carries the theme or category so the persona table can tell which modules and which
help change whose outcomes (its small-cell suppression applies as to every type). Each event
is applied once (`messaging.apply_once`, inbox claim, intervention and persona cells in one
transaction); the intervention ids derive from the source (enrolment, match), so the same
completion published again under another event id is not counted twice. Nothing is recorded
for a person erased here (`person=`; for help about two persons, each is checked in the same
transaction, so one's erasure does not drop the other's intervention). Interventions are
kept per person, whether or not a trajectory exists yet (`interventions.py` says how the
persona loop uses them).
"""

from __future__ import annotations

import re
from typing import Any

from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.events.learning_paths import ModuleCompleted
from wijkkracht_common.events.marketplace import HelpCompleted
from wijkkracht_common.messaging import Delivery, apply_once
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.service.interventions import add_intervention
from effect_measurement.service.ports import Db, RepositoryFactory, Runtime

_NOT_A_WORD = re.compile(r"[^a-z0-9_]+")
_TYPE_LENGTH = 61  # InterventionInput.type: a letter and 1..60 more


def intervention_type(prefix: str, qualifier: str | None, fallback: str) -> str:
    """`<prefix>_<qualifier>` as an intervention type (lower case, letters, digits and `_`)."""
    word = _NOT_A_WORD.sub("_", (qualifier or "").lower()).strip("_")
    return (f"{prefix}_{word}" if word else fallback)[:_TYPE_LENGTH]


def module_interventions(envelope: Envelope[ModuleCompleted]) -> list[InterventionInput]:
    data = envelope.data
    return [
        InterventionInput(
            intervention_id=f"learning_paths:{data.enrolment_id}",
            person_id=data.person_id,
            type=intervention_type(data.kind, data.theme, f"{data.kind}_completed"),
            occurred_at=data.completed_at,
            organisation=data.organisation,
            source="learning_paths",
        )
    ]


def help_interventions(envelope: Envelope[HelpCompleted]) -> list[InterventionInput]:
    data = envelope.data
    roles = (
        (data.helped_person_id, "helped", "help_received"),
        (data.helper_id, "helper", "help_given"),
    )
    return [
        InterventionInput(
            intervention_id=f"marketplace:{data.match_id}:{role}",
            person_id=person,
            type=intervention_type(prefix, data.category, prefix),
            occurred_at=data.completed_at,
            organisation=data.organisation_slug,
            source="marketplace",
        )
        for person, role, prefix in roles
        if person
    ]


class InterventionsIn:
    """The consumers of `module_completed` and `help_completed`."""

    def __init__(
        self, runtime: Runtime, *, repositories: RepositoryFactory = MotorRepositories
    ) -> None:
        self.runtime = runtime
        self.repositories = repositories

    async def _record(
        self, envelope: Envelope[Any], delivery: Delivery, items: list[InterventionInput]
    ) -> bool:
        if not items:  # e.g. help an organisation gave to an organisation: nobody's outcome
            return await apply_once(self.runtime, envelope, delivery, _nothing)
        tenant = envelope.tenant

        # About one person: `apply_once` drops it once they are erased. About two (help): each
        # is checked in the same transaction, so the helper's participation still counts
        # when the person helped was erased, and the other way round.
        both = len({i.person_id for i in items}) > 1

        async def effect(db: Db, session: Session) -> list[Staged]:
            repos = self.repositories(db, session, tenant)
            erased = await repos.erased.among([i.person_id for i in items]) if both else set()
            for item in items:
                if item.person_id not in erased:
                    await add_intervention(repos, tenant, item)
            return []

        person = None if both else items[0].person_id
        return await apply_once(self.runtime, envelope, delivery, effect, person=person)

    async def module_completed(
        self, envelope: Envelope[ModuleCompleted], delivery: Delivery
    ) -> bool:
        return await self._record(envelope, delivery, module_interventions(envelope))

    async def help_completed(self, envelope: Envelope[HelpCompleted], delivery: Delivery) -> bool:
        return await self._record(envelope, delivery, help_interventions(envelope))


async def _nothing(db: Db, session: Session) -> list[Staged]:
    return []
