from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import ECKey, KeySet
from wijkkracht_common.auth import JwksCache

pytestmark = pytest.mark.unit


def _jwks(*kids: str) -> dict[str, Any]:
    keys = [ECKey.generate_key("P-256", parameters={"kid": k}) for k in kids]
    return dict(KeySet(keys).as_dict(private=False))


async def test_unknown_kid_refreshes_but_rate_limited() -> None:
    documents = [_jwks("k1"), _jwks("k1", "k2")]
    calls: list[int] = []

    async def fetch() -> dict[str, Any]:
        calls.append(1)
        return documents[min(len(calls), len(documents)) - 1]

    cache = JwksCache(fetch, min_refresh_seconds=0.0)
    assert await cache.key_set_for("k1") is not None
    assert await cache.key_set_for("k2") is not None  # new key published: refreshed
    assert len(calls) == 2
    limited = JwksCache(fetch, min_refresh_seconds=3600)
    assert await limited.key_set_for("k1") is not None
    assert await limited.key_set_for("nope") is None  # no refetch storm for junk kids
    assert len(calls) == 3


async def test_retired_key_stops_verifying_after_max_age() -> None:
    documents = [_jwks("old", "new"), _jwks("new")]
    calls: list[int] = []

    async def fetch() -> dict[str, Any]:
        calls.append(1)
        return documents[min(len(calls), len(documents)) - 1]

    cache = JwksCache(fetch, min_refresh_seconds=0.0, max_age_seconds=0.0)
    assert await cache.key_set_for("old") is not None
    assert await cache.key_set_for("old") is None  # identity pruned it; the cache follows


async def test_verified_tokens_are_cached_only_until_exp() -> None:
    import time

    from wijkkracht_common.auth import TokenVerifier
    from wijkkracht_common.errors import Unauthorized
    from wijkkracht_common.testing.issuer import TestIssuer

    issuer = TestIssuer("http://issuer.test")
    verifier = TokenVerifier(
        issuer.jwks_cache(), issuer=issuer.issuer, audience=issuer.audience, leeway_seconds=0
    )
    token = issuer.token(sub="p1", tenant="t", orgs={"o": ["resident"]})
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first  # served from the cache
    short = issuer.token(sub="p2", tenant="t", lifetime=1)
    assert (await verifier.verify(short)).subject == "p2"
    time.sleep(1.1)
    with pytest.raises(Unauthorized):
        await verifier.verify(short)  # the cache never outlives the token's exp
