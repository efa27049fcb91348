from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.js.client import JetStreamContext
from wijkkracht_common.messaging import ensure_streams
from wijkkracht_common.storage import Storage


@pytest.fixture
async def storage(mongo_url: str) -> AsyncIterator[Storage]:
    from wijkkracht_common.runtime import COMMON_INDEXES

    s = Storage(mongo_url, f"t{uuid.uuid4().hex[:6]}", COMMON_INDEXES)
    yield s
    for tenant in await s.tenants():
        await s.drop_tenant(tenant)
    s.close()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


@pytest.fixture
async def js(nc: Client) -> JetStreamContext:
    context = nc.jetstream()
    await ensure_streams(context)
    return context
