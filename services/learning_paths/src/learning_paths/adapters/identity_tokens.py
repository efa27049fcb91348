"""HTTP Basic for xAPI clients: an API client's id and secret are exchanged at identity's
token endpoint (client-credentials grant, a documented HTTP call) for an access token, which
is verified like any other; the principal is kept until the token expires, so a client
sending thousands of statements costs one exchange."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from typing import Protocol

import httpx2
from wijkkracht_common.auth import Principal, TokenVerifier
from wijkkracht_common.errors import Problem
from wijkkracht_common.observability import get_logger

log = get_logger(__name__)


class CredentialExchange(Protocol):
    async def principal_for(self, client_id: str, secret: str) -> Principal | None:
        """The client's principal, or None when the credentials are wrong."""
        ...


class TokenEndpointExchange:
    def __init__(
        self,
        token_url: str,
        verifier: TokenVerifier,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        cache_size: int = 1000,
    ) -> None:
        self._url = token_url
        self._verifier = verifier
        self._transport = transport
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._size = cache_size

    async def principal_for(self, client_id: str, secret: str) -> Principal | None:
        key = hashlib.sha256(f"{client_id}\x00{secret}".encode()).hexdigest()
        hit = self._cache.get(key)
        if hit is not None and hit[1] > time.time():
            return hit[0]
        try:
            async with httpx2.AsyncClient(transport=self._transport, timeout=5.0) as client:
                response = await client.post(
                    self._url,
                    data={"grant_type": "client_credentials"},
                    auth=(client_id, secret),
                )
        except httpx2.HTTPError as error:
            log.warning("token endpoint unreachable", error=str(error))
            return None
        if response.status_code != 200:
            return None
        body = response.json()
        try:
            principal = await self._verifier.verify(str(body["access_token"]))
        except (KeyError, Problem):
            return None
        lifetime = float(body.get("expires_in", 300))
        self._cache[key] = (principal, time.time() + max(lifetime - 30, 1))
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return principal
