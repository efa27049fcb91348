"""Demo data for tenant `demo` (entry point `wijkkracht.demo`): synthetic residents and
measurements, written through the same ingestion code as real events, so an analyst's
dashboard shows realistic, suppressed figures. Idempotent (event ids derive from responses)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from wijkkracht_common import inbox
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.adapters.schema import INDEXES
from effect_measurement.demo import generator
from effect_measurement.domain.inputs import InterventionInput, MeasurementInput
from effect_measurement.service.ingest import ResponseIngestion
from effect_measurement.service.interventions import record_intervention
from effect_measurement.service.ports import Db
from effect_measurement.settings import Settings

TENANT = "demo"
DURABLE = "effect_measurement__demo_seed"
# The domain demo's placeholders → identity's demo tenant (DM01 Oeverhoek … DM05 Lindenhof).
NEIGHBOURHOODS = {f"wijk-0{i}": f"DM0{i}" for i in range(1, 6)}
ORGANISATIONS = {"demo-welzijn": "welzijn-demo", "demo-wijkteam": "buurtkracht-demo"}
FAMILIES = {
    generator.MATRIX_FAMILY: "self-sufficiency-matrix",
    generator.MONITOR_FAMILY: "effect-monitor",
}
CODES = {"time_use": "daytime_activities", "social_participation": "community_participation"}
_NS = uuid.UUID("0b7f9a52-5f7e-4a43-8c1e-1d1f3c0de111")


def _codes(values: dict[str, int]) -> dict[str, int]:
    return {CODES.get(code, code): value for code, value in values.items()}


def demo_response(
    m: MeasurementInput,
    tenant: str,
    *,
    submitted_at: datetime | None = None,
    time: datetime | None = None,
) -> Envelope[ResponseSubmitted]:
    """The `response_submitted` a demo measurement comes in as (questionnaires' family,
    dimension and organisation names); `submitted_at` defaults to the measurement's."""
    family = FAMILIES[m.family]
    return new_event(
        ResponseSubmitted(
            response_id=m.response_id,
            person_id=m.person_id,
            instrument_id=family,
            family=family,
            variant="standard",
            version=1,
            purpose="measurement",
            submitted_at=submitted_at or m.submitted_at,
            dimension_scores={},
            phases=_codes(m.phases),
            levels=_codes(m.levels),
        ),
        tenant=tenant,
        subject=m.response_id,
        organisation=ORGANISATIONS.get(m.organisation or "", m.organisation),
        time=time,
    )


async def seed() -> str:
    settings = Settings()
    runtime = ServiceRuntime(settings, indexes=INDEXES)
    try:
        data = generator.generate_demo()
        db = await runtime.storage.tenant_db(TENANT)
        seeded_at = datetime.now(UTC)

        async def profiles(db: Db, session: Session) -> tuple[None, list[Envelope[Any]]]:
            repos = MotorRepositories(db, session, TENANT)
            for profile in data.profiles:
                demo = replace(
                    profile, neighbourhood_code=NEIGHBOURHOODS[profile.neighbourhood_code]
                )
                await repos.profiles.save(demo, seeded_at)
            return None, []

        await runtime.commit(TENANT, profiles)
        envelopes: list[Envelope[Any]] = []
        for stored in data.measurements:
            m = stored.measurement
            envelope = demo_response(m, TENANT, time=m.submitted_at)
            envelopes.append(
                envelope.model_copy(update={"id": str(uuid.uuid5(_NS, m.response_id))})
            )
        ingest = ResponseIngestion(runtime)
        applied = 0
        for start in range(0, len(envelopes), 500):
            batch = envelopes[start : start + 500]
            fresh = set(await inbox.unseen(db, DURABLE, [e.id for e in batch]))
            todo = [e for e in batch if e.id in fresh]
            if todo:
                await ingest(db, todo, DURABLE)
                applied += len(todo)
        for item in data.interventions:
            await record_intervention(
                runtime,
                TENANT,
                InterventionInput(
                    intervention_id=item.intervention_id,
                    person_id=item.person_id,
                    type=item.type,
                    occurred_at=item.occurred_at,
                    organisation=ORGANISATIONS.get(item.organisation or "", item.organisation),
                ),
            )
        return (
            f"effect_measurement: {len(data.profiles)} residents, {applied} new measurements "
            f"({len(envelopes)} in total) in tenant '{TENANT}'"
        )
    finally:
        runtime.storage.close()
