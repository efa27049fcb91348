"""The issuer's key store keeps a key set per algorithm: ES256 (access tokens, required) and
RS256 (ID tokens that ask for it), created beside an existing ES256 set, rotated together."""

from __future__ import annotations

from datetime import timedelta

import pytest
from identity.service.keys import KeysMissing, KeyStore

from .fakes import FakeSigningKeys


def store() -> tuple[KeyStore, FakeSigningKeys, FakeSigningKeys]:
    es, rs = FakeSigningKeys(), FakeSigningKeys()

    async def es_keys() -> FakeSigningKeys:
        return es

    async def rs_keys() -> FakeSigningKeys:
        return rs

    return KeyStore(es_keys, more={"RS256": rs_keys}), es, rs


async def test_start_up_adds_an_rs256_key_beside_the_es256_one() -> None:
    keys, es, rs = store()
    with pytest.raises(KeysMissing):  # outside dev, nothing is generated without ES256 keys
        await keys.ensure(generate=False)
    assert rs.stored is None
    merged = await keys.ensure(generate=True)
    assert merged.algorithms == ["ES256", "RS256"]
    assert es.stored is not None and rs.stored is not None
    assert [k.alg for k in es.stored.keys.keys] == ["ES256"]
    assert [k.alg for k in rs.stored.keys.keys] == ["RS256"]
    # An upgraded installation (ES256 keys only) gets its RS256 key without an operator step.
    rs.stored = None
    again = await keys.ensure(generate=False)
    assert again.active_key("RS256").kid == rs.stored.keys.active_key().kid  # type: ignore[union-attr]
    assert {k["kty"] for k in (await keys.jwks())["keys"]} == {"EC", "RSA"}


async def test_every_algorithm_rotates_and_a_missing_one_is_created() -> None:
    keys, _, _ = store()
    assert await keys.rotate(min_published=timedelta(0), keep_retired_for=timedelta(0)) == [
        "created the first active key"
    ]
    steps = await keys.rotate(min_published=timedelta(0), keep_retired_for=timedelta(0))
    assert steps[0].startswith("published next key") and "(" not in steps[0]
    assert steps[1] == "created the first active RS256 key"
    steps = await keys.rotate(min_published=timedelta(0), keep_retired_for=timedelta(hours=1))
    assert steps[0].startswith("promoted") and steps[0].endswith("to active")
    assert steps[1].startswith("published next key") and steps[1].endswith("(RS256)")
    current = await keys.current()
    assert current.next_key("RS256") is not None and current.next_key("ES256") is None
    assert await keys.rewrap() == ["all 4 key(s) already sealed with the current KEK"]
