"""The service starts on the real embedded NATS and database and is ready."""

from __future__ import annotations

import pytest
from lp_harness import Api
from wijkkracht_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


async def test_it_starts_and_is_ready(api: Api) -> None:
    assert (await api.client.get("/healthz")).status_code == 200

    async def ready() -> bool:  # on a busy machine a first check may exceed its bound
        return (await api.client.get("/readyz")).status_code == 200

    await eventually(ready)
    openapi = (await api.client.get("/openapi.json")).json()
    assert "/learning-paths/v1/modules" in openapi["paths"]
