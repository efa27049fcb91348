"""The platform's signing key sets (ES256, and RS256 for ID tokens): loaded from the platform
database, cached briefly.

The private keys are stored encrypted with the key-encryption key (KEK, see
`adapters.key_encryption`). `ensure` (at start-up) seals keys found in clear and re-wraps
keys sealed with a previous KEK; `rewrap` (`wk keys rewrap`) does the same on demand.

Identity verifies its own tokens with `local_verifier`: a `TokenVerifier` whose JWKS comes
from this store instead of an HTTP call to itself.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc.jwk import KeySet as JoseKeySet
from wijkkracht_common.auth import JwksCache, TokenVerifier
from wijkkracht_common.observability import get_logger

from identity.adapters.repositories import SigningKeys, StoredKeySet
from identity.domain.signing_keys import (
    DEFAULT_ALG,
    KeyRotationError,
    KeySet,
    SigningAlg,
    generate_signing_key,
)
from identity.settings import Settings

log = get_logger(__name__)


class KeysMissing(RuntimeError):
    pass


#: Where one algorithm's key set is stored (each algorithm rotates on its own).
SigningKeysOf = Callable[[], Awaitable[SigningKeys]]


class KeyStore:
    """The issuer's key sets, one per algorithm: the default algorithm's (ES256, signs
    access tokens; required, created only in dev or by `wk keys rotate`) and any further
    ones (RS256 for ID tokens; created beside an existing default set when missing, so an
    upgrade offers RS256 without an operator step). `current()` merges them."""

    #: Another process (`wk keys rotate`) changes keys rarely, and a `next` key is published
    #: long before it signs; a few seconds of staleness is therefore harmless.
    TTL_SECONDS = 5.0

    def __init__(
        self,
        repository: SigningKeysOf,
        *,
        more: Mapping[SigningAlg, SigningKeysOf] | None = None,
    ) -> None:
        self._repository = repository
        self._more = dict(more or {})
        self._cached: KeySet | None = None
        self._loaded_at = 0.0
        self.generation = 0  # changes whenever the set of published kids changes

    def _repositories(self) -> list[tuple[SigningAlg, SigningKeysOf]]:
        return [(DEFAULT_ALG, self._repository), *self._more.items()]

    async def exists(self) -> bool:
        return await (await self._repository()).exists()

    async def ensure(self, *, generate: bool) -> KeySet:
        """Load the key sets (sealing them with the current KEK where they are not yet);
        create a first active default key when allowed (dev), else refuse; create the
        other algorithms' first keys beside it."""
        sets = []
        for alg, repository in self._repositories():
            stored = await repository()
            loaded = await stored.load()
            if loaded is None:
                if alg == DEFAULT_ALG and not generate:
                    raise KeysMissing(
                        "Geen ondertekeningssleutels: maak ze met `wk keys rotate`. / No "
                        "signing keys: create them with `wk keys rotate` (keys are generated "
                        "only in dev)."
                    )
                # A first key may be active at once: nothing was signed with it yet, and
                # verifiers fetch the JWKS again for an unknown kid.
                await stored.create(KeySet.bootstrap(datetime.now(UTC), alg=alg))
                loaded = await stored.load()
                assert loaded is not None
                if alg != DEFAULT_ALG:
                    log.info("signing key created", alg=alg)
            if loaded.outdated:
                loaded = await self._reseal(stored, loaded)
                log.info("signing keys sealed with the current key-encryption key", alg=alg)
            sets.append(loaded.keys)
        merged = KeySet.merged(*sets)
        self._remember(merged)
        return merged

    async def rewrap(self) -> list[str]:
        """Seal every key with the current KEK (after adding a new one in front); afterwards
        the previous KEK can be removed from the configuration."""
        loaded_sets = []
        for _alg, repository in self._repositories():
            stored = await repository()
            loaded = await stored.load()
            if loaded is not None:
                loaded_sets.append((stored, loaded))
        if not loaded_sets:
            return ["no signing keys"]
        count = sum(len(loaded.keys.keys) for _, loaded in loaded_sets)
        outdated = [(stored, loaded) for stored, loaded in loaded_sets if loaded.outdated]
        if not outdated:
            return [f"all {count} key(s) already sealed with the current KEK"]
        for stored, loaded in outdated:
            await self._reseal(stored, loaded)
        self._cached = None
        resealed = sum(len(loaded.keys.keys) for _, loaded in outdated)
        return [f"sealed {resealed} key(s) with the current KEK"]

    async def _reseal(self, stored: SigningKeys, loaded: StoredKeySet) -> StoredKeySet:
        await stored.replace(loaded.keys, loaded.version)
        again = await stored.load()  # another process may have done it first
        if again is None:
            raise KeysMissing("the signing keys disappeared while being sealed")
        return again

    def _remember(self, keys: KeySet) -> None:
        if self._cached is None or [k.kid for k in self._cached.keys] != [k.kid for k in keys.keys]:
            self.generation += 1
        self._cached = keys
        self._loaded_at = time.monotonic()

    async def current(self) -> KeySet:
        if self._cached is None or time.monotonic() - self._loaded_at > self.TTL_SECONDS:
            sets = []
            for alg, repository in self._repositories():
                loaded = await (await repository()).load()
                if loaded is None:
                    if alg == DEFAULT_ALG:
                        raise KeysMissing("no signing keys")
                    continue  # created at the next start-up or `wk keys rotate`
                sets.append(loaded.keys)
            self._remember(KeySet.merged(*sets))
        assert self._cached is not None
        return self._cached

    async def jwks(self) -> dict[str, Any]:
        return dict((await self.current()).jwks())

    async def rotate(self, *, min_published: timedelta, keep_retired_for: timedelta) -> list[str]:
        """One rotation step of every algorithm's keys; call repeatedly (e.g. daily). Returns
        what happened.

        No next key: publish one. A next key published long enough: promote it (the active
        key retires). Always: prune retired keys whose tokens have all expired. Without any
        key yet, the first default key is created (the others follow at the next step).
        """
        now = datetime.now(UTC)
        done: list[str] = []
        primary = await self._repository()
        if await primary.load() is None:
            await primary.create(KeySet.bootstrap(now))
            self._cached = None
            return ["created the first active key"]
        for alg, repository in self._repositories():
            done += await self._rotate_one(
                alg, await repository(), now, min_published, keep_retired_for
            )
        self._cached = None
        return done

    @staticmethod
    async def _rotate_one(
        alg: SigningAlg,
        stored: SigningKeys,
        now: datetime,
        min_published: timedelta,
        keep_retired_for: timedelta,
    ) -> list[str]:
        suffix = "" if alg == DEFAULT_ALG else f" ({alg})"
        loaded = await stored.load()
        if loaded is None:
            await stored.create(KeySet.bootstrap(now, alg=alg))
            return [f"created the first active {alg} key"]
        keys, version = loaded.keys, loaded.version
        done: list[str] = []
        upcoming = keys.next_key(alg)
        if upcoming is None:
            keys = keys.with_next(generate_signing_key(now, alg=alg))
            done.append(f"published next key {keys.next_key(alg).kid}{suffix}")  # type: ignore[union-attr]
        else:
            try:
                keys = keys.promote(now, min_published=min_published, alg=alg)
                done.append(f"promoted {upcoming.kid} to active{suffix}")
            except KeyRotationError as error:
                done.append(f"not promoted{suffix}: {error}")
        pruned = keys.prune(now, keep_retired_for=keep_retired_for)
        if len(pruned.keys) < len(keys.keys):
            done.append(f"pruned {len(keys.keys) - len(pruned.keys)} retired key(s){suffix}")
        if not await stored.replace(pruned, version):
            raise KeyRotationError("concurrent rotation; try again")
        return done


class KeyStoreJwks(JwksCache):
    """The verifier's key source, read from the key store instead of over HTTP.

    Unlike the base cache (which keeps a kid until an unknown kid forces a refresh), this one
    follows the store: a pruned key stops verifying within the store's TTL.
    """

    def __init__(self, store: KeyStore) -> None:
        super().__init__(store.jwks, min_refresh_seconds=0.0)
        self._store = store
        self._generation = -1
        self._key_set: JoseKeySet | None = None
        self._known: set[str] = set()

    async def key_set_for(self, kid: str) -> JoseKeySet | None:
        keys = await self._store.current()
        if self._generation != self._store.generation or self._key_set is None:
            document = keys.jwks()
            self._key_set = JoseKeySet.import_key_set(document)  # type: ignore[arg-type]
            self._known = {str(k["kid"]) for k in document["keys"]}
            self._generation = self._store.generation
        return self._key_set if kid in self._known else None


def local_verifier(keys: KeyStore, settings: Settings) -> TokenVerifier:
    return TokenVerifier(
        KeyStoreJwks(keys),
        issuer=settings.issuer,
        audience=settings.token_audience,
        algorithms=settings.token_algorithms,
        leeway_seconds=settings.token_leeway_seconds,
    )
