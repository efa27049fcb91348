"""HTTP API `/effects/v1`: own trajectories, professionals with consent, published reports.

Routes parse the request, check the coarse role a token carries and render the result; the
use cases (`service/`) read, decide who may see what (`service/access.py`) and write.

Every operation declares who may call it (issue 16): a person (`PersonPrincipal`, or
`require_roles`, which implies one) for a resident's own data, staff work, reports and every
write; a machine client of the tenant (`MachinePrincipal`) only for the tenant's publication
policy (k, rounding base, named organisations), the reference data every published table
refers to. No route takes a large body: the platform's limit (1 MiB) applies to all.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from wijkkracht_common.auth import MachinePrincipal, PersonPrincipal, Principal, require_roles
from wijkkracht_common.errors import Forbidden, InvalidInput, field_error
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.runtime import ServiceRuntime

from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.policy import MAXIMUM_K, MINIMUM_K, PrivacySettings
from effect_measurement.domain.tables import REASON_TEXTS
from effect_measurement.domain.texts import Text
from effect_measurement.domain.trajectories import Trajectory
from effect_measurement.domain.transitions import TransitionMatrix
from effect_measurement.presentation.exports import to_csv, to_json
from effect_measurement.presentation.svg import (
    neighbourhood_bar_chart,
    phase_movement_chart,
    trend_chart,
)
from effect_measurement.presentation.trajectories import goal_view, merged, trajectory_view
from effect_measurement.service import privacy, reports, trajectories
from effect_measurement.service.access import RECORDER_ROLES, REPORT_ROLES
from effect_measurement.service.interventions import record_intervention_by

SVG = "image/svg+xml"
router = APIRouter()
Reporter = Annotated[Principal, Depends(require_roles(*REPORT_ROLES))]
Professional = Annotated[Principal, Depends(require_roles("professional"))]
TenantAdmin = Annotated[Principal, Depends(require_roles("tenant_admin"))]
Recorder = Annotated[Principal, Depends(require_roles(*RECORDER_ROLES))]


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def query_params(request: Request, *endpoint_params: str) -> dict[str, str]:
    """Raw query parameters; a repeated parameter is refused (no hidden second filter)."""
    items = request.query_params.multi_items()
    names = [name for name, _ in items]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInput(
            "Parameter meer dan eens opgegeven. / Parameter given more than once.",
            errors=[field_error(f"query.{n}", "repeated", "repeated") for n in repeated],
        )
    return {n: v for n, v in items if n not in endpoint_params}


class GoalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dimension: str = Field(min_length=1, max_length=60)
    target: float = Field(ge=0, le=10)


def _items(shown: trajectories.Overview) -> dict[str, Any]:
    return {
        "items": [
            trajectory_view(tid, tracks, shown.interventions.get(tid, ()))
            for tid, tracks in sorted(shown.trajectories.items())
        ]
    }


def _chart(tracks: list[Trajectory]) -> Response:
    title = Text("Mijn verloop", "My trend")
    return Response(trend_chart(merged(tracks), title), media_type=SVG)


# --- the resident's own trajectories -------------------------------------------------------


@router.get("/me/trajectories", tags=["trajectories"])
async def my_trajectories(request: Request, principal: PersonPrincipal) -> dict[str, Any]:
    """The resident's trajectories; each with its `interventions` (after its baseline, by
    time: `intervention_id`, `type`, `source` learning_paths|marketplace|recorded,
    `organisation`, `occurred_at`)."""
    return _items(await trajectories.own_overview(runtime_of(request), principal))


@router.get("/me/trajectories/{trajectory_id}/chart.svg", tags=["trajectories"])
async def my_chart(trajectory_id: str, request: Request, principal: PersonPrincipal) -> Response:
    return _chart(await trajectories.own_trajectory(runtime_of(request), principal, trajectory_id))


@router.post("/me/trajectories/{trajectory_id}/goals", status_code=201, tags=["trajectories"])
async def my_goal(
    trajectory_id: str, body: GoalIn, request: Request, principal: PersonPrincipal
) -> dict[str, Any]:
    goal = await trajectories.add_own_goal(
        runtime_of(request),
        principal,
        trajectory_id,
        dimension=body.dimension,
        target=body.target,
    )
    return goal_view(trajectory_id, goal)


# --- professionals, with the resident's share_results consent ------------------------------


@router.get("/people/{person_id}/trajectories", tags=["trajectories"])
async def person_trajectories(
    person_id: str, request: Request, principal: Professional
) -> dict[str, Any]:
    """A resident's trajectories the caller may see (`share_results`; 404 otherwise), with the
    interventions the consent of their source shows: a completed module only with
    `share_learning_progress`, others recorded or arranged for the caller's organisation."""
    return _items(await trajectories.shared_overview(runtime_of(request), principal, person_id))


@router.get("/people/{person_id}/trajectories/{trajectory_id}/chart.svg", tags=["trajectories"])
async def person_chart(
    person_id: str, trajectory_id: str, request: Request, principal: Professional
) -> Response:
    tracks = await trajectories.shared_trajectory(
        runtime_of(request), principal, person_id, trajectory_id
    )
    return _chart(tracks)


@router.post(
    "/people/{person_id}/trajectories/{trajectory_id}/goals", status_code=201, tags=["trajectories"]
)
async def person_goal(
    person_id: str, trajectory_id: str, body: GoalIn, request: Request, principal: Professional
) -> dict[str, Any]:
    goal = await trajectories.add_shared_goal(
        runtime_of(request),
        principal,
        person_id,
        trajectory_id,
        dimension=body.dimension,
        target=body.target,
    )
    return goal_view(trajectory_id, goal)


# --- published aggregates (analysts, organisation admins) -----------------------------------


@router.get("/aggregates", tags=["aggregates"])
async def aggregates(request: Request, principal: Reporter) -> dict[str, Any]:
    tables = await reports.reports(runtime_of(request), principal, query_params(request))
    return {"items": [json.loads(to_json(t)) for t in tables]}


@router.get("/aggregates/export", tags=["aggregates"])
async def export(
    request: Request,
    principal: Reporter,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> Response:
    params = query_params(request, "format")
    tables = await reports.reports(runtime_of(request), principal, params)
    if format == "json":
        body = json.dumps([json.loads(to_json(t)) for t in tables], ensure_ascii=False)
        return Response(body, media_type="application/json")
    csv = "\n".join(f"# period={t.meta.get('period')}\n{to_csv(t)}" for t in tables)
    return Response(
        csv,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="effecten.csv"'},
    )


@router.get("/aggregates/chart.svg", tags=["aggregates"])
async def aggregates_chart(
    request: Request,
    principal: Reporter,
    column: Annotated[
        Literal[
            "baseline_only", "improved", "same", "worse", "measured", "mean_change", "mean_baseline"
        ],
        Query(),
    ] = "improved",
) -> Response:
    params = query_params(request, "column")
    table = (await reports.reports(runtime_of(request), principal, params))[0]
    if column not in {c.key for c in table.columns}:
        raise InvalidInput(
            "Onbekende kolom. / Unknown column.",
            errors=[field_error("query.column", "not in this report")],
        )
    return Response(
        neighbourhood_bar_chart(table, column, Text("Per wijk", "Per neighbourhood")),
        media_type=SVG,
    )


@router.get("/benchmark", tags=["aggregates"])
async def benchmark(request: Request, principal: Reporter) -> dict[str, Any]:
    result = await reports.benchmark(runtime_of(request), principal, query_params(request))
    reason = result.own_reason
    return {
        "metric": result.metric.value,
        "own": {
            "value": result.own_value,
            "suppressed": reason is not None,
            "reason": reason.value if reason else None,
            "reason_nl": REASON_TEXTS[reason].nl if reason else None,
            "reason_en": REASON_TEXTS[reason].en if reason else None,
        },
        "others": [{"label": e.label, "value": e.value, "named": e.named} for e in result.others],
        "percentiles": dict(result.percentiles) if result.percentiles else None,
    }


@router.get("/transitions", tags=["aggregates"])
async def transitions(request: Request, principal: Reporter) -> dict[str, Any]:
    matrix = await reports.transitions(runtime_of(request), principal, query_params(request))
    return _matrix_json(matrix)


@router.get("/transitions/chart.svg", tags=["aggregates"])
async def transitions_chart(request: Request, principal: Reporter) -> Response:
    matrix = await reports.transitions(runtime_of(request), principal, query_params(request))
    return Response(
        phase_movement_chart(matrix, Text("Faseverschuiving", "Phase movement")), media_type=SVG
    )


def _matrix_json(matrix: TransitionMatrix) -> dict[str, Any]:
    if matrix.counts is None:
        reason = matrix.reason.value if matrix.reason else None
        return {"suppressed": True, "reason": reason, "moves": None}
    moves = [{"from": a, "to": b, "count": c} for (a, b), c in sorted(matrix.counts.items())]
    return {"suppressed": False, "reason": None, "moves": moves}


@router.get("/persona", tags=["aggregates"])
async def persona(request: Request, principal: Reporter) -> dict[str, Any]:
    report = await reports.persona(runtime_of(request), principal, query_params(request))
    return {
        "counts": json.loads(to_json(report.counts)),
        "mean_change": json.loads(to_json(report.mean_change)),
    }


# --- settings and the internal intervention API ---------------------------------------------


class PrivacyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(ge=MINIMUM_K, le=MAXIMUM_K, description="minimum group size, never below 5")


def _privacy_json(settings: PrivacySettings) -> dict[str, Any]:
    return {
        "k": settings.policy.k,
        "rounding_base": settings.policy.rounding_base,
        "named_organisations": sorted(settings.named),
    }


@router.get("/settings/privacy", tags=["settings"])
async def get_privacy(request: Request, principal: MachinePrincipal) -> dict[str, Any]:
    # A machine client of the tenant (a dashboard) reads the publication policy; a person
    # needs a reporting role, as for the reports themselves.
    if principal.person_id is not None and not principal.has_role(*REPORT_ROLES):
        raise Forbidden(
            "U heeft hiervoor niet de juiste rol. / You do not have the required role.",
            required_roles=sorted(REPORT_ROLES),
        )
    return _privacy_json(await privacy.privacy_settings(runtime_of(request), principal.tenant))


@router.put("/settings/privacy", tags=["settings"])
async def put_privacy(body: PrivacyIn, request: Request, principal: TenantAdmin) -> dict[str, Any]:
    return _privacy_json(await privacy.change_k(runtime_of(request), principal, body.k))


class OptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisation: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    named: bool


@router.put("/settings/benchmark-opt-in", tags=["settings"])
async def opt_in(body: OptIn, request: Request, principal: PersonPrincipal) -> dict[str, Any]:
    await privacy.name_in_benchmarks(runtime_of(request), principal, body.organisation, body.named)
    return {"organisation": body.organisation, "named": body.named}


class InterventionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # No ':': ids with a prefix (`learning_paths:…`, `marketplace:…`) are those the consumers
    # derive from events; one taken by hand would make the real one a duplicate, and dropped.
    intervention_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[^:]+$",
        description="the caller's own id (repeat-safe); no ':' (reserved for other services)",
    )
    person_id: str = Field(min_length=1, max_length=64)
    type: str = Field(pattern=r"^[a-z][a-z0-9_]{1,60}$")
    occurred_at: datetime
    organisation: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]{1,30}$",
        description="the recording organisation; may be left out by staff of one organisation",
    )


@router.post("/interventions", status_code=201, tags=["interventions"])
async def intervention(body: InterventionIn, request: Request, principal: Recorder) -> JSONResponse:
    if body.occurred_at.tzinfo is None:
        raise InvalidInput(
            "Tijd zonder tijdzone. / Time without a time zone.",
            errors=[field_error("occurred_at", "timezone required")],
        )
    item = InterventionInput(
        intervention_id=body.intervention_id or new_event_id(),
        person_id=body.person_id,
        type=body.type,
        occurred_at=body.occurred_at,
        organisation=body.organisation,
        source="recorded",
    )
    created = await record_intervention_by(runtime_of(request), principal, item)
    return JSONResponse(
        {"intervention_id": item.intervention_id, "created": created},
        status_code=201 if created else 200,
    )
