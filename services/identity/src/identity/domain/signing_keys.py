"""Token signing keys and their rotation without downtime.

Algorithms: **ES256** (ECDSA P-256) signs access tokens and, by default, ID tokens: tokens
and JWKS are small (a signature is 64 bytes vs 256 for RS256), signing is fast and a key is
generated in microseconds. **RS256** is what OpenID Connect requires a provider to offer for
ID tokens (Discovery: `id_token_signing_alg_values_supported` MUST include it), so the issuer
keeps an RS256 key beside the ES256 one; a client that registered
`id_token_signed_response_alg: RS256` gets its ID tokens signed with it. The JWKS publishes
both.

Life cycle of a key, per algorithm: ``next`` (published in the JWKS, not yet used, so
verifiers' caches learn it) -> ``active`` (signs) -> ``retired`` (still published,
verify-only, until every token it signed has expired) -> pruned. Rotation: ``with_next`` ...
wait >= verifier JWKS cache TTL ... ``promote`` ... wait >= access-token lifetime ...
``prune``. A key set holds at most one active and one next key of each algorithm.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from joserfc import jwk
from pydantic import BaseModel, ConfigDict, model_validator

SigningAlg = Literal["ES256", "RS256"]
DEFAULT_ALG: SigningAlg = "ES256"
#: Every algorithm the issuer keeps a key of (the first one signs access tokens).
SIGNING_ALGS: tuple[SigningAlg, ...] = ("ES256", "RS256")


_IMPORTED: dict[tuple[str, str], jwk.Key] = {}


class KeyStatus(StrEnum):
    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"


class KeyRotationError(ValueError):
    pass


class SigningKey(BaseModel):
    """A key as the adapter stores it: the private JWK as a plain dict (encrypt at rest there)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kid: str
    alg: SigningAlg
    status: KeyStatus
    created_at: datetime
    private_jwk: dict[str, Any]
    activated_at: datetime | None = None
    retired_at: datetime | None = None

    def private_key(self) -> jwk.Key:
        # Importing a JWK costs more than a signature; cache by kid AND private material, so a
        # record that reuses a kid with other material never gets the cached key.
        cache_key = (self.kid, str(self.private_jwk.get("d")))
        key = _IMPORTED.get(cache_key)
        if key is None:
            key = jwk.import_key(
                self.private_jwk, parameters={"kid": self.kid, "alg": self.alg, "use": "sig"}
            )
            _IMPORTED[cache_key] = key
        return key

    def public_jwk(self) -> dict[str, Any]:
        public = dict(self.private_key().as_dict(private=False))
        public.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return public


def generate_signing_key(
    now: datetime, *, alg: SigningAlg = DEFAULT_ALG, status: KeyStatus = KeyStatus.NEXT
) -> SigningKey:
    """A fresh key; the kid is its RFC 7638 thumbprint, so it needs no extra randomness."""
    key: jwk.Key = (
        jwk.generate_key("EC", "P-256") if alg == "ES256" else jwk.generate_key("RSA", 2048)
    )
    kid = key.thumbprint()
    return SigningKey(
        kid=kid,
        alg=alg,
        status=status,
        created_at=now,
        private_jwk=dict(key.as_dict(private=True)),
        activated_at=now if status is KeyStatus.ACTIVE else None,
    )


class KeySet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: tuple[SigningKey, ...] = ()

    @model_validator(mode="after")
    def _invariants(self) -> KeySet:
        for alg in self.algorithms:
            statuses = [key.status for key in self.keys if key.alg == alg]
            if statuses.count(KeyStatus.ACTIVE) > 1 or statuses.count(KeyStatus.NEXT) > 1:
                raise KeyRotationError(f"at most one active and one next {alg} key")
        kids = [key.kid for key in self.keys]
        if len(kids) != len(set(kids)):
            raise KeyRotationError("duplicate kid")
        return self

    @classmethod
    def bootstrap(cls, now: datetime, alg: SigningAlg = DEFAULT_ALG) -> KeySet:
        """First start only: no token exists yet, so the first key may be active at once."""
        return cls(keys=(generate_signing_key(now, alg=alg, status=KeyStatus.ACTIVE),))

    @property
    def algorithms(self) -> list[SigningAlg]:
        """The algorithms of the keys in this set, in `SIGNING_ALGS` order."""
        present = {key.alg for key in self.keys}
        return [alg for alg in SIGNING_ALGS if alg in present]

    def _with_status(self, status: KeyStatus, alg: SigningAlg | None) -> SigningKey | None:
        """The key of `alg` with `status`; without `alg`, the default algorithm's (else the
        only algorithm's, for a set of one algorithm)."""
        found = [key for key in self.keys if key.status is status]
        if alg is not None:
            return next((key for key in found if key.alg == alg), None)
        preferred = next((key for key in found if key.alg == DEFAULT_ALG), None)
        return preferred or next(iter(found), None)

    def active_key(self, alg: SigningAlg | None = None) -> SigningKey:
        key = self._with_status(KeyStatus.ACTIVE, alg)
        if key is None:
            raise KeyRotationError(f"no active {alg or 'signing'} key")
        return key

    def next_key(self, alg: SigningAlg | None = None) -> SigningKey | None:
        return self._with_status(KeyStatus.NEXT, alg)

    def of_alg(self, alg: SigningAlg) -> KeySet:
        return KeySet(keys=tuple(key for key in self.keys if key.alg == alg))

    @classmethod
    def merged(cls, *sets: KeySet) -> KeySet:
        """One set of several (one per algorithm, as stored)."""
        return cls(keys=tuple(key for keys in sets for key in keys.keys))

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Public JWKS: next, active and retired keys, never a private part."""
        return {"keys": [key.public_jwk() for key in self.keys]}

    def with_next(self, key: SigningKey) -> KeySet:
        if self.next_key(key.alg) is not None:
            raise KeyRotationError("a next key is already published")
        if key.status is not KeyStatus.NEXT:
            raise KeyRotationError("new keys enter as next")
        return KeySet(keys=(*self.keys, key))

    def promote(
        self,
        now: datetime,
        *,
        min_published: timedelta = timedelta(hours=1),
        alg: SigningAlg | None = None,
    ) -> KeySet:
        """next -> active, active -> retired (of one algorithm). ``min_published`` must cover
        verifiers' JWKS cache."""
        upcoming = self.next_key(alg)
        if upcoming is None:
            raise KeyRotationError("no next key to promote")
        if now - upcoming.created_at < min_published:
            raise KeyRotationError("next key not published long enough")
        keys: list[SigningKey] = []
        for key in self.keys:
            if key.status is KeyStatus.ACTIVE and key.alg == upcoming.alg:
                key = key.model_copy(update={"status": KeyStatus.RETIRED, "retired_at": now})
            elif key is upcoming:
                key = key.model_copy(update={"status": KeyStatus.ACTIVE, "activated_at": now})
            keys.append(key)
        return KeySet(keys=tuple(keys))

    def prune(self, now: datetime, *, keep_retired_for: timedelta) -> KeySet:
        """Drop retired keys whose tokens all expired; ``keep_retired_for`` >= token lifetime."""
        return KeySet(
            keys=tuple(
                key
                for key in self.keys
                if not (
                    key.status is KeyStatus.RETIRED
                    and key.retired_at is not None
                    and now - key.retired_at >= keep_retired_for
                )
            )
        )
