"""The platform's signing key set: loaded from the platform database, cached briefly.

The private keys are stored encrypted with the key-encryption key (KEK, see
`adapters.key_encryption`). `ensure` (at start-up) seals keys found in clear and re-wraps
keys sealed with a previous KEK; `rewrap` (`wk keys rewrap`) does the same on demand.

Identity verifies its own tokens with `local_verifier`: a `TokenVerifier` whose JWKS comes
from this store instead of an HTTP call to itself.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc.jwk import KeySet as JoseKeySet
from wijkkracht_common.auth import JwksCache, TokenVerifier
from wijkkracht_common.observability import get_logger

from identity.adapters.repositories import SigningKeys, StoredKeySet
from identity.domain.signing_keys import KeyRotationError, KeySet, generate_signing_key
from identity.settings import Settings

log = get_logger(__name__)


class KeysMissing(RuntimeError):
    pass


class KeyStore:
    #: Another process (`wk keys rotate`) changes keys rarely, and a `next` key is published
    #: long before it signs; a few seconds of staleness is therefore harmless.
    TTL_SECONDS = 5.0

    def __init__(self, repository: Callable[[], Awaitable[SigningKeys]]) -> None:
        self._repository = repository
        self._cached: KeySet | None = None
        self._loaded_at = 0.0
        self.generation = 0  # changes whenever the set of published kids changes

    async def exists(self) -> bool:
        return await (await self._repository()).exists()

    async def ensure(self, *, generate: bool) -> KeySet:
        """Load the key set (sealing it with the current KEK where it is not yet); create a
        first active key when allowed (dev), else refuse."""
        stored = await self._repository()
        loaded = await stored.load()
        if loaded is None:
            if not generate:
                raise KeysMissing(
                    "Geen ondertekeningssleutels: maak ze met `wk keys rotate`. / No signing "
                    "keys: create them with `wk keys rotate` (keys are generated only in dev)."
                )
            await stored.create(KeySet.bootstrap(datetime.now(UTC)))
            loaded = await stored.load()
            assert loaded is not None
        if loaded.outdated:
            loaded = await self._reseal(stored, loaded)
            log.info("signing keys sealed with the current key-encryption key")
        self._remember(loaded.keys)
        return loaded.keys

    async def rewrap(self) -> list[str]:
        """Seal every key with the current KEK (after adding a new one in front); afterwards
        the previous KEK can be removed from the configuration."""
        stored = await self._repository()
        loaded = await stored.load()
        if loaded is None:
            return ["no signing keys"]
        if not loaded.outdated:
            return [f"all {len(loaded.keys.keys)} key(s) already sealed with the current KEK"]
        await self._reseal(stored, loaded)
        self._cached = None
        return [f"sealed {len(loaded.keys.keys)} key(s) with the current KEK"]

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
            loaded = await (await self._repository()).load()
            if loaded is None:
                raise KeysMissing("no signing keys")
            self._remember(loaded.keys)
        assert self._cached is not None
        return self._cached

    async def jwks(self) -> dict[str, Any]:
        return dict((await self.current()).jwks())

    async def rotate(self, *, min_published: timedelta, keep_retired_for: timedelta) -> list[str]:
        """One rotation step; call repeatedly (e.g. daily). Returns what happened.

        No next key: publish one. A next key published long enough: promote it (the active
        key retires). Always: prune retired keys whose tokens have all expired.
        """
        stored = await self._repository()
        now = datetime.now(UTC)
        loaded = await stored.load()
        if loaded is None:
            await stored.create(KeySet.bootstrap(now))
            self._cached = None
            return ["created the first active key"]
        keys, version = loaded.keys, loaded.version
        done: list[str] = []
        upcoming = keys.next_key()
        if upcoming is None:
            keys = keys.with_next(generate_signing_key(now))
            done.append(f"published next key {keys.next_key().kid}")  # type: ignore[union-attr]
        else:
            try:
                keys = keys.promote(now, min_published=min_published)
                done.append(f"promoted {upcoming.kid} to active")
            except KeyRotationError as error:
                done.append(f"not promoted: {error}")
        pruned = keys.prune(now, keep_retired_for=keep_retired_for)
        if len(pruned.keys) < len(keys.keys):
            done.append(f"pruned {len(keys.keys) - len(pruned.keys)} retired key(s)")
        if not await stored.replace(pruned, version):
            raise KeyRotationError("concurrent rotation; try again")
        self._cached = None
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
