"""What a test of a service's shutdown checks of a request refused while it stops."""

from __future__ import annotations

import httpx


def assert_refused_while_stopping(answer: httpx.Response, retry_after_seconds: int) -> None:
    """503 `service-stopping` as an RFC 9457 problem, with the service's `Retry-After`."""
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == str(retry_after_seconds)
    assert answer.json()["type"].endswith("service-stopping")


__all__ = ["assert_refused_while_stopping"]
