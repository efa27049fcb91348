"""Use cases on one person's trajectories: the resident's own view, a professional's view
with consent (access-logged), goals. Trajectories are rebuilt from the stored measurements
(domain); who may see them is decided in `access`.

The views (`own_overview`, `shared_overview`) show each trajectory's interventions beside its
measurements: the person's after its baseline (`domain.interventions.of_trajectory`, the
persona fold's rule); a professional sees only those the consent of their source shows
(`consents.visible_intervention`: a completed module needs `share_learning_progress`, which
is then access-logged too)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, NotFound, field_error
from wijkkracht_common.events.envelope import Envelope
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.consents import (
    SHARE_LEARNING_PROGRESS,
    SHARE_RESULTS,
    visible_intervention,
    visible_trajectory,
)
from effect_measurement.domain.goals import set_goal
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.interventions import of_trajectory
from effect_measurement.domain.texts import DomainError
from effect_measurement.domain.trajectories import (
    Goal,
    StoredMeasurement,
    Trajectory,
    build_trajectories,
)
from effect_measurement.service import access
from effect_measurement.service.ports import Db, Repositories, RepositoryFactory, Runtime, reading

NOT_FOUND = "Traject niet gevonden. / Trajectory not found."
#: trajectory id -> the domain trajectories (tracks) inside it
Found = dict[str, list[Trajectory]]


@dataclass(frozen=True, slots=True)
class Overview:
    """Trajectories as the views show them: per trajectory id its tracks and interventions."""

    trajectories: Found
    interventions: dict[str, list[InterventionInput]]

    @classmethod
    def of(cls, found: Found, interventions: Iterable[InterventionInput]) -> Overview:
        items = list(interventions)
        return cls(found, {tid: of_trajectory(tracks, items) for tid, tracks in found.items()})

    def shows(self, source: str) -> bool:
        return any(i.source == source for items in self.interventions.values() for i in items)


async def interventions_of(repos: Repositories, person: str) -> list[InterventionInput]:
    return (await repos.interventions.of_persons([person])).get(person, [])


async def person_trajectories(
    repos: Repositories, person: str, organisations: set[str] | None = None
) -> Found:
    """A person's trajectories; with `organisations`, only those staff of these
    organisations may see (`consents.visible_trajectory`: theirs, and the resident's own
    ones kept under no organisation)."""
    by_id: dict[str, list[StoredMeasurement]] = defaultdict(list)
    for trajectory, stored in await repos.measurements.of_person(person):
        organisation = stored.measurement.organisation
        if organisations is None or visible_trajectory(organisation, organisations):
            by_id[trajectory].append(stored)
    goals = await repos.goals.of_person(person)
    result: Found = {}
    for tid, stored_items in by_id.items():
        tracks = sorted(build_trajectories(stored_items).values(), key=lambda t: t.key)
        result[tid] = [
            replace(t, goals=tuple(g for g in goals.get(tid, ()) if g.dimension in t.dimensions()))
            for t in tracks
        ]
    return result


def require(found: Found, tid: str) -> list[Trajectory]:
    tracks = found.get(tid)
    if not tracks:
        raise NotFound(NOT_FOUND)
    return tracks


async def own_trajectories(
    runtime: Runtime,
    principal: Principal,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> Found:
    """The resident's own trajectories (all organisations)."""
    person = access.resident(principal)
    return await person_trajectories(await reading(runtime, principal.tenant, repositories), person)


async def own_overview(
    runtime: Runtime,
    principal: Principal,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> Overview:
    """The resident's own trajectories with every intervention in each."""
    person = access.resident(principal)
    repos = await reading(runtime, principal.tenant, repositories)
    found = await person_trajectories(repos, person)
    return Overview.of(found, await interventions_of(repos, person) if found else ())


async def shared_trajectories(
    runtime: Runtime,
    principal: Principal,
    person: str,
    action: str = "read",
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> Found:
    """A resident's trajectories with the organisations where the caller is a professional and
    the resident shares results (and the resident's own ones kept under no organisation); the
    access is logged on behalf of each such organisation. 404 when there are none: whether
    data exists is not revealed."""
    shown = await _shared(runtime, principal, person, action, repositories, interventions=False)
    return shown.trajectories


async def shared_overview(
    runtime: Runtime,
    principal: Principal,
    person: str,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> Overview:
    """`shared_trajectories` with the interventions the caller may see in each
    (`consents.visible_intervention`); completed modules shown on the resident's
    `share_learning_progress` consent are logged on behalf of the organisations it names."""
    return await _shared(runtime, principal, person, "read", repositories, interventions=True)


async def _shared(
    runtime: Runtime,
    principal: Principal,
    person: str,
    action: str,
    repositories: RepositoryFactory,
    *,
    interventions: bool,
) -> Overview:
    repos = await reading(runtime, principal.tenant, repositories)
    sharing = await repos.consents.organisations_sharing(person, SHARE_RESULTS)
    organisations = access.visible_organisations(principal, sharing)
    found = await person_trajectories(repos, person, organisations) if organisations else {}
    if not found:
        raise NotFound(NOT_FOUND)
    shown = Overview(found, {})
    learning: set[str] = set()
    if interventions:
        learning = access.visible_organisations(
            principal, await repos.consents.organisations_sharing(person, SHARE_LEARNING_PROGRESS)
        )
        mine = await interventions_of(repos, person)
        shown = Overview.of(
            found, (i for i in mine if visible_intervention(i, organisations, learning))
        )
    # (on behalf of, reason, resource): each consent that made something visible.
    logged: list[tuple[str, str, str]] = [
        (o, SHARE_RESULTS, f"trajectories/{person}") for o in sorted(organisations)
    ]
    if shown.shows("learning_paths"):
        about = f"interventions/{person}"
        logged += [(o, SHARE_LEARNING_PROGRESS, about) for o in sorted(learning)]

    async def work(db: Db, session: Session) -> tuple[None, list[Envelope[Any]]]:
        log = repositories(db, session, principal.tenant).access_log
        for organisation, reason, resource in logged:
            await log.record(
                principal,
                resident=person,
                action=action,
                resource=resource,
                reason=reason,
                on_behalf_of=organisation,
            )
        return None, []

    await runtime.commit(principal.tenant, work)
    return shown


async def own_trajectory(
    runtime: Runtime,
    principal: Principal,
    trajectory: str,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> list[Trajectory]:
    found = await own_trajectories(runtime, principal, repositories=repositories)
    return require(found, trajectory)


async def shared_trajectory(
    runtime: Runtime,
    principal: Principal,
    person: str,
    trajectory: str,
    *,
    repositories: RepositoryFactory = MotorRepositories,
) -> list[Trajectory]:
    found = await shared_trajectories(runtime, principal, person, "read", repositories=repositories)
    return require(found, trajectory)


async def add_own_goal(
    runtime: Runtime,
    principal: Principal,
    trajectory: str,
    *,
    dimension: str,
    target: float,
    repositories: RepositoryFactory = MotorRepositories,
) -> Goal:
    """A resident sets a goal in one of their own trajectories."""
    person = access.resident(principal)
    found = await person_trajectories(
        await reading(runtime, principal.tenant, repositories), person
    )
    tracks = require(found, trajectory)
    return await _add_goal(
        runtime, principal, person, trajectory, tracks, dimension, target, "resident", repositories
    )


async def add_shared_goal(
    runtime: Runtime,
    principal: Principal,
    person: str,
    trajectory: str,
    *,
    dimension: str,
    target: float,
    repositories: RepositoryFactory = MotorRepositories,
) -> Goal:
    """A professional sets a goal in a trajectory the resident shares with them."""
    found = await shared_trajectories(
        runtime, principal, person, "update", repositories=repositories
    )
    tracks = require(found, trajectory)
    return await _add_goal(
        runtime,
        principal,
        person,
        trajectory,
        tracks,
        dimension,
        target,
        "professional",
        repositories,
    )


async def _add_goal(
    runtime: Runtime,
    principal: Principal,
    person: str,
    trajectory: str,
    tracks: list[Trajectory],
    dimension: str,
    target: float,
    role: str,
    repositories: RepositoryFactory,
) -> Goal:
    """A goal on one dimension of the trajectory (history is kept)."""
    track = next((t for t in tracks if dimension in t.dimensions()), None)
    if track is None:
        raise InvalidInput(
            "Onbekend onderdeel voor dit traject. / Unknown dimension for this trajectory.",
            errors=[field_error("dimension", "unknown dimension")],
        )
    goal = Goal(dimension, target, role, principal.subject, datetime.now(UTC))
    try:
        set_goal(track, goal)
    except DomainError as error:
        raise InvalidInput(
            str(error.text), errors=[field_error(error.field or "target", error.text.en)]
        ) from error

    async def work(db: Db, session: Session) -> tuple[None, list[Envelope[Any]]]:
        await repositories(db, session, principal.tenant).goals.add(person, trajectory, goal)
        return None, []

    await runtime.commit(principal.tenant, work)
    return goal
