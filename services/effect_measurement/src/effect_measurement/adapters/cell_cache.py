"""The report cell cache: the cells a report reads (its period and the nested ones), per tenant
database x family x period, kept while the projection's version is unchanged; bounded (LRU).

The version is a fresh token written in the same transaction as every cell change
(`repositories.MotorCells.add`, `write_ingestion`), so a cached entry is never older than the
committed projection it claims to be.

Engines whose reads outside a transaction see a running transaction's writes (the embedded
nx-27017; not MongoDB): should that transaction roll back, the version stays and a read taken
meanwhile would be wrong. An entry therefore also holds the database's count of rolled-back
transactions (`storage.aborted_transactions`) from before its read, and is void once that
count moved. On MongoDB reads see committed data only; there the check costs a dictionary
look-up per request and voids entries after a rolled-back transaction (a write conflict the
driver retried) that did not need it: one extra cell read per report afterwards.
"""

from __future__ import annotations

from collections import OrderedDict

from wijkkracht_common.storage import aborted_transactions

from effect_measurement.domain.accumulator import Accumulator
from effect_measurement.domain.keys import CellKey

#: (database name, family, period label)
CacheKey = tuple[str, str, str]


class CellCache:
    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, tuple[str, int, dict[CellKey, Accumulator]]]
        self._entries = OrderedDict()

    def get(self, key: CacheKey, version: str) -> dict[CellKey, Accumulator] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version or entry[1] != aborted_transactions(key[0]):
            return None
        self._entries.move_to_end(key)
        return entry[2]

    def put(
        self, key: CacheKey, version: str, aborts: int, cells: dict[CellKey, Accumulator]
    ) -> None:
        """`aborts`: `aborted_transactions(database)` before the cells were read."""
        self._entries[key] = (version, aborts, cells)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


CELL_CACHE = CellCache()
