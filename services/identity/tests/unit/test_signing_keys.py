from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from identity.domain.jwt_tokens import TokenInvalid, access_token_claims, sign, verify
from identity.domain.signing_keys import (
    KeyRotationError,
    KeySet,
    KeyStatus,
    SigningKey,
    generate_signing_key,
)

ISSUER = "https://wijkkracht.example/identity/v1"
AUD = "wijkkracht-api"


def token(keys: KeySet, now: datetime, **overrides: object) -> str:
    claims = access_token_claims(
        issuer=ISSUER,
        audience=AUD,
        subject="p-1",
        client_id="demo.c",
        tenant="demo",
        scope="openid",
        roles=["resident"],
        orgs={"de-smd": ["resident"]},
        jti="j-1",
        now=now,
        lifetime=timedelta(minutes=15),
    )
    claims.update(overrides)
    return sign(claims, keys, typ="at+jwt")


def check(value: str, jwks: KeySet, now: datetime, **kwargs: object) -> dict[str, object]:
    return verify(value, jwks.jwks(), issuer=ISSUER, audience=AUD, now=now, **kwargs)  # type: ignore[arg-type]


def test_jwks_holds_public_keys_only(keys: KeySet) -> None:
    document = keys.jwks()
    assert [k["kid"] for k in document["keys"]] == [keys.active_key().kid]
    published = document["keys"][0]
    assert published["alg"] == "ES256" and published["use"] == "sig" and published["kty"] == "EC"
    assert "d" not in published
    assert "d" in keys.active_key().private_jwk


def test_private_keys_round_trip_through_a_dict(keys: KeySet, now: datetime) -> None:
    restored = KeySet.model_validate(keys.model_dump())
    assert check(token(restored, now), keys, now)["sub"] == "p-1"


def test_claim_checks(keys: KeySet, now: datetime) -> None:
    good = token(keys, now)
    assert check(good, keys, now + timedelta(minutes=14))["tenant"] == "demo"
    with pytest.raises(TokenInvalid):
        check(good, keys, now + timedelta(minutes=16))  # expired
    with pytest.raises(TokenInvalid):
        check(token(keys, now, iss="https://evil.example"), keys, now)
    with pytest.raises(TokenInvalid):
        check(token(keys, now, aud="other-api"), keys, now)
    with pytest.raises(TokenInvalid):
        check(token(keys, now, nbf=int((now + timedelta(minutes=5)).timestamp())), keys, now)
    with pytest.raises(TokenInvalid):
        check(good, keys, now, algorithms=("RS256",))  # algorithm allow-list enforced


def test_rotation_without_downtime(now: datetime) -> None:
    keys = KeySet.bootstrap(now)
    old_kid = keys.active_key().kid
    before = token(keys, now)

    # 1. publish next; tokens are still signed with the old key
    upcoming = generate_signing_key(now)
    keys = keys.with_next(upcoming)
    assert {k["kid"] for k in keys.jwks()["keys"]} == {old_kid, upcoming.kid}
    with pytest.raises(KeyRotationError):
        keys.with_next(generate_signing_key(now))
    with pytest.raises(KeyRotationError):
        keys.promote(now + timedelta(minutes=5))  # not published long enough

    # 2. promote: new tokens use the new key, old tokens still verify (retired, published)
    promoted_at = now + timedelta(hours=2)
    keys = keys.promote(promoted_at)
    assert keys.active_key().kid == upcoming.kid
    statuses = {k.kid: k.status for k in keys.keys}
    assert statuses == {old_kid: KeyStatus.RETIRED, upcoming.kid: KeyStatus.ACTIVE}
    after = token(keys, promoted_at)
    assert check(before, keys, now)["jti"] == "j-1"
    assert check(after, keys, promoted_at)["jti"] == "j-1"

    # 3. prune after the cutoff: the old key leaves the JWKS and its tokens stop verifying
    assert (
        keys.prune(promoted_at + timedelta(minutes=10), keep_retired_for=timedelta(hours=1)) == keys
    )
    pruned = keys.prune(promoted_at + timedelta(hours=1), keep_retired_for=timedelta(hours=1))
    assert [k.kid for k in pruned.keys] == [upcoming.kid]
    with pytest.raises(TokenInvalid):
        check(before, pruned, now)
    assert check(after, pruned, promoted_at)["sub"] == "p-1"


def test_token_verifies_only_while_its_key_is_published(now: datetime) -> None:
    keys = KeySet.bootstrap(now)
    signed = token(keys, now)
    unrelated = KeySet.bootstrap(now)
    with pytest.raises(TokenInvalid):
        check(signed, unrelated, now)  # kid unknown to this JWKS
    impostor = SigningKey(**(unrelated.active_key().model_dump() | {"kid": keys.active_key().kid}))
    with pytest.raises(TokenInvalid):
        check(signed, KeySet(keys=(impostor,)), now)  # same kid, other key material


def test_keyset_invariants(now: datetime) -> None:
    active = generate_signing_key(now, status=KeyStatus.ACTIVE)
    with pytest.raises(ValueError):
        KeySet(keys=(active, generate_signing_key(now, status=KeyStatus.ACTIVE)))
    with pytest.raises(KeyRotationError):
        KeySet().active_key()
    with pytest.raises(KeyRotationError):
        KeySet(keys=(active,)).promote(now)


def test_rs256_is_supported(now: datetime) -> None:
    keys = KeySet.bootstrap(now, alg="RS256")
    assert keys.jwks()["keys"][0]["kty"] == "RSA"
    assert check(token(keys, now), keys, now)["sub"] == "p-1"
