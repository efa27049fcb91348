"""Decoded candidate buckets kept between requests.

Every new help request ranks the volunteers of its category family: a few buckets holding
hundreds of compact items. Reading and decoding them on every request cost two fifths of a
publication's CPU (py-spy, bench_marketplace). A bucket document carries a `rev` that every
write replaces with a new random value, so a read first asks for the revisions only and
fetches (and decodes) just the buckets whose revision this process has not decoded yet.

Correct with several replicas: the stored revision decides, never a timer. A random
revision (not a counter) stays correct when a tenant's database is dropped and made again.
Bounded: least recently used buckets are dropped beyond `max_buckets`; a write in this
process drops its bucket at once (an erased volunteer's address does not linger here).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

#: A decoded item with the id it is deduplicated by (a volunteer in several categories is
#: in several buckets).
Decoded = tuple[str, Any]

DEFAULT_MAX_BUCKETS = 4096


def new_rev() -> str:
    return uuid.uuid4().hex


class DecodedBuckets:
    def __init__(self, max_buckets: int = DEFAULT_MAX_BUCKETS) -> None:
        self._max = max_buckets
        self._kept: OrderedDict[tuple[str, str], tuple[str, list[Decoded]]] = OrderedDict()

    def get(self, db: str, key: str, rev: Any) -> list[Decoded] | None:
        """The bucket's decoded items if this process decoded revision `rev`, else None."""
        if not isinstance(rev, str):
            return None  # written before revisions: read it whole
        kept = self._kept.get((db, key))
        if kept is None or kept[0] != rev:
            return None
        self._kept.move_to_end((db, key))
        return kept[1]

    def put(self, db: str, key: str, rev: Any, items: Sequence[Decoded]) -> None:
        if not isinstance(rev, str):
            return
        self._kept[(db, key)] = (rev, list(items))
        self._kept.move_to_end((db, key))
        while len(self._kept) > self._max:
            self._kept.popitem(last=False)

    def forget(self, db: str, key: str) -> None:
        self._kept.pop((db, key), None)

    def __len__(self) -> int:
        return len(self._kept)


#: One per process: the key names the tenant's database, so tenants never share an entry.
SHARED = DecodedBuckets()
