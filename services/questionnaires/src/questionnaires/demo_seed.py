"""Demo data for `make run`: the shipped instruments, published in tenant `demo`.

A sample response for the demo resident would need identity's person id, which this service
only learns from events; so it is not seeded.
"""

from __future__ import annotations

from wijkkracht_common.runtime import ServiceRuntime

from questionnaires.adapters.documents import INDEXES
from questionnaires.domain.catalog import shipped_instruments
from questionnaires.main import build_context
from questionnaires.service.instruments import ensure_tenant
from questionnaires.settings import Settings

DEMO_TENANT = "demo"


async def seed() -> str:
    settings = Settings()
    # No relay here: the running service's relay publishes the staged events.
    runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=False)
    try:
        await ensure_tenant(build_context(settings, runtime), DEMO_TENANT)
    finally:
        runtime.storage.close()
    return (
        f"questionnaires: {len(shipped_instruments())} shipped instruments published in "
        f"tenant '{DEMO_TENANT}'"
    )
