"""Ingestion's write-through cache of measurement histories, valid per person-data epoch.

The person-data epoch is a counter (`TenantSettings.epoch`) that every transaction writing
what ingestion reads ahead advances: measurements (ingestion, erasure) and interventions.
Ingestion keeps the histories it read and wrote in memory; inside each batch's transaction it
reads the epoch: when it is the one its own last commit left, nothing else changed
measurements and the cached histories are exact; otherwise it drops them and reads again. On
MongoDB the shared counter document also turns concurrent writers (replicas) into write
conflicts, so one of them retries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from typing import Generic, TypeVar

E = TypeVar("E")


class HistoryCache(Generic[E]):
    """Per tenant: the stored measurements of recently seen persons (ingestion keeps them
    decoded, as `StoredMeasurement`s), as of one person-data epoch (see the module docstring).
    Ingestion is the only writer of measurements apart from erasure; both advance the epoch.
    When the epoch read inside a batch's transaction is the one this cache was left at by this
    process's last commit, the cached histories are exactly what the database holds, and only
    unseen persons are read. (The follow-up marks, which the scheduler clears without
    advancing the epoch, are not kept: ingestion never reads them.)"""

    def __init__(self, max_persons: int) -> None:
        self.max_persons = max_persons
        self.epoch: int | None = None
        self._docs: OrderedDict[str, list[E]] = OrderedDict()

    def valid_at(self, epoch: int) -> bool:
        """Inside a transaction at `epoch`: whether the cache holds; dropped when not."""
        if self.epoch != epoch:
            self.clear()
        return self.epoch is not None

    def holds_at(self, epochs: Collection[int]) -> bool:
        return self.epoch is not None and self.epoch in epochs

    def clear(self) -> None:
        self.epoch = None
        self._docs.clear()

    def split(self, persons: Sequence[str]) -> tuple[list[E], list[str]]:
        """(cached measurements of the known persons, the persons to read)."""
        docs: list[E] = []
        unknown: list[str] = []
        for person in persons:
            known = self._docs.get(person)
            if known is None:
                unknown.append(person)
            else:
                docs.extend(known)
                self._docs.move_to_end(person)
        return docs, unknown

    def record(self, epoch: int, after: Mapping[str, Sequence[E]]) -> None:
        """After a commit that left the database at `epoch`: the complete stored histories
        of the batch's persons (other persons' histories did not change)."""
        docs = self._docs
        for person, history in after.items():
            docs[person] = list(history)
            docs.move_to_end(person)
        while len(docs) > self.max_persons:
            docs.popitem(last=False)
        self.epoch = epoch
