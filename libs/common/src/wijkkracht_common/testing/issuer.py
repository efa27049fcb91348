"""A signing key and token minting for tests of services other than identity.

Services verify tokens against identity's JWKS; in their integration tests a `TestIssuer`
plays identity: it signs tokens like identity does and serves its JWKS to a `JwksCache`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from wijkkracht_common.auth import JwksCache, TokenVerifier
from wijkkracht_common.settings import BaseServiceSettings


class TestIssuer:
    __test__ = False  # not a test class, despite the name

    def __init__(self, issuer: str, audience: str = "wijkkracht-api") -> None:
        self.issuer = issuer
        self.audience = audience
        self.key = ECKey.generate_key("P-256", parameters={"kid": f"test-{uuid.uuid4().hex[:8]}"})

    def jwks(self) -> dict[str, Any]:
        document: dict[str, Any] = dict(KeySet([self.key]).as_dict(private=False))
        return document

    def jwks_cache(self) -> JwksCache:
        async def fetch() -> dict[str, Any]:
            return self.jwks()

        return JwksCache(fetch)

    def verifier(self, settings: BaseServiceSettings | None = None) -> TokenVerifier:
        return TokenVerifier(
            self.jwks_cache(),
            issuer=self.issuer,
            audience=settings.token_audience if settings else self.audience,
        )

    def token(
        self,
        *,
        sub: str,
        tenant: str,
        orgs: Mapping[str, Iterable[str]] | None = None,
        scope: str = "openid",
        client_id: str = "test-client",
        lifetime: int = 900,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        org_roles = {org: sorted(set(roles)) for org, roles in (orgs or {}).items()}
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "tenant": tenant,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            "scope": scope,
            "client_id": client_id,
            "orgs": org_roles,
            "roles": sorted({r for rs in org_roles.values() for r in rs}),
        }
        claims.update(overrides)
        return jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, self.key)

    def headers(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}
