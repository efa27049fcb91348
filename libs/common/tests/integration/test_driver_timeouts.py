"""Every Storage client bounds its operations: the driver timeouts it gets, and which wins."""

from __future__ import annotations

import pytest
from wijkkracht_common.storage import Storage

pytestmark = pytest.mark.integration


async def test_every_storage_client_has_bounded_operations(mongo_url: str) -> None:
    base = mongo_url.split("?")[0] + "?directConnection=true"
    defaults = Storage(base, "timeouts")
    tuned = Storage(f"{base}&timeoutMS=1500&connectTimeoutMS=700", "timeouts")
    explicit = Storage(
        f"{base}&serverSelectionTimeoutMS=900", "timeouts", server_selection_timeout_ms=300
    )
    try:
        options = defaults.client.options
        assert (options.timeout, options.server_selection_timeout) == (8.0, 5.0)
        assert options.pool_options.connect_timeout == 5.0
        assert options.pool_options.socket_timeout == 20.0
        # the URL's own options win over the defaults; an explicit argument over both
        assert tuned.client.options.timeout == 1.5
        assert tuned.client.options.pool_options.connect_timeout == 0.7
        assert explicit.client.options.server_selection_timeout == 0.3
        assert await defaults.ping() and await tuned.ping()
    finally:
        for storage in (defaults, tuned, explicit):
            storage.close()
