"""Use cases on one person's trajectories: the resident's own view, a professional's view
with consent, goals. Trajectories are rebuilt from the stored measurements (domain)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import InvalidInput, NotFound, field_error
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.storage import Database

from effect_measurement.adapters.documents import stored_from_document
from effect_measurement.adapters.schema import CONSENTS, GOALS, MEASUREMENTS
from effect_measurement.domain.goals import goal_reached, set_goal
from effect_measurement.domain.scales import Scale
from effect_measurement.domain.texts import DomainError
from effect_measurement.domain.trajectories import Goal, Point, Trajectory, build_trajectories

Db = Database[dict[str, Any]]
NOT_FOUND = "Traject niet gevonden. / Trajectory not found."


async def consented_organisations(db: Db, principal: Principal, person: str) -> set[str]:
    """Organisations where the caller is a professional AND the person shares results."""
    mine = set(principal.organisations_with("professional"))
    if not mine:
        return set()
    docs = db[CONSENTS].find({"person_id": person, "purpose": "share_results"})
    return {d["organisation"] async for d in docs if d.get("granted") and d["organisation"] in mine}


async def person_trajectories(
    db: Db, person: str, organisations: set[str] | None = None
) -> dict[str, list[Trajectory]]:
    """trajectory id → the domain trajectories (tracks) inside it; optionally only some orgs."""
    by_id: dict[str, list[Any]] = defaultdict(list)
    async for doc in db[MEASUREMENTS].find({"person_id": person}):
        if organisations is None or doc.get("organisation") in organisations:
            by_id[doc["trajectory_id"]].append(stored_from_document(doc))
    goals: dict[str, list[Goal]] = defaultdict(list)
    async for g in db[GOALS].find({"person_id": person}):
        goals[g["trajectory_id"]].append(
            Goal(g["dimension"], g["target"], g["set_by_role"], g["set_by"], g["set_at"])
        )
    result: dict[str, list[Trajectory]] = {}
    for tid, stored in by_id.items():
        tracks = sorted(build_trajectories(stored).values(), key=lambda t: t.key)
        result[tid] = [
            replace(t, goals=tuple(g for g in goals[tid] if g.dimension in t.dimensions()))
            for t in tracks
        ]
    return result


def merged(tracks: list[Trajectory]) -> Trajectory:
    """One trajectory for a chart: the effect monitor's phase tracks share a scale."""
    if len(tracks) == 1:
        return tracks[0]
    points: dict[str, Point] = {}
    for track in tracks:
        for p in track.points:
            current = points.get(p.response_id)
            points[p.response_id] = (
                p if current is None else replace(current, values={**current.values, **p.values})
            )
    ordered = tuple(sorted(points.values(), key=lambda p: (p.submitted_at, p.response_id)))
    return replace(tracks[0], points=ordered)


def view(tid: str, tracks: list[Trajectory]) -> dict[str, Any]:
    first = tracks[0]
    times = sorted({p.submitted_at for t in tracks for p in t.points})
    return {
        "trajectory_id": tid,
        "organisation": first.key.organisation,
        "family": first.key.family,
        "kind": first.kind.value,
        "measurements": len({p.response_id for t in tracks for p in t.points}),
        "baseline_at": times[0],
        "latest_at": times[-1],
        "tracks": [
            {
                "track": t.key.track,
                "scale": t.scale.value,
                "points": [{"at": p.submitted_at, "values": dict(p.values)} for p in t.points],
                "changes": {
                    d: {
                        "baseline": c.baseline,
                        "value": c.value,
                        "delta": round(c.delta, 2),
                        "outcome": c.outcome.value,
                    }
                    for d, c in t.latest_changes().items()
                },
                "goals": [
                    {
                        "dimension": g.dimension,
                        "target": g.target,
                        "set_by_role": g.set_by_role,
                        "set_at": g.set_at,
                        "reached": goal_reached(t, g),
                    }
                    for g in t.goals
                ],
            }
            for t in tracks
        ],
    }


async def add_goal(
    db: Db,
    person: str,
    tid: str,
    tracks: list[Trajectory],
    *,
    dimension: str,
    target: float,
    role: str,
    actor: str,
) -> dict[str, Any]:
    track = next((t for t in tracks if dimension in t.dimensions()), None)
    if track is None:
        raise InvalidInput(
            "Onbekend onderdeel voor dit traject. / Unknown dimension for this trajectory.",
            errors=[field_error("dimension", "unknown dimension")],
        )
    goal = Goal(dimension, target, role, actor, datetime.now(UTC))
    try:
        set_goal(track, goal)
    except DomainError as error:
        raise InvalidInput(
            str(error.text), errors=[field_error(error.field or "target", error.text.en)]
        ) from error
    doc = {
        "_id": new_event_id(),
        "person_id": person,
        "trajectory_id": tid,
        "dimension": dimension,
        "target": target,
        "set_by_role": role,
        "set_by": actor,
        "set_at": goal.set_at,
    }
    await db[GOALS].insert_one(doc)
    return {k: v for k, v in doc.items() if k not in ("_id", "person_id")}


def require(trajectories: dict[str, list[Trajectory]], tid: str) -> list[Trajectory]:
    tracks = trajectories.get(tid)
    if not tracks:
        raise NotFound(NOT_FOUND)
    return tracks


SCALE_RANGES = {Scale.PHASE: (1, 5), Scale.LEVEL: (1, 5), Scale.SCORE: (0, 10)}
