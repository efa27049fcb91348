"""The service starts on the real embedded NATS and database and is ready."""

from __future__ import annotations

import pytest
from lp_harness import Api

pytestmark = pytest.mark.integration


async def test_it_starts_and_is_ready(api: Api) -> None:
    assert (await api.client.get("/healthz")).status_code == 200
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    openapi = (await api.client.get("/openapi.json")).json()
    assert "/learning-paths/v1/modules" in openapi["paths"]
