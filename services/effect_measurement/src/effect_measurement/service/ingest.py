"""Use case: apply a batch of `response_submitted` events of one tenant in one transaction.

Store measurements (with the profile snapshot), fold the batch into aggregate and persona cell
deltas (the domain's delta method, one `$inc` upsert per changed cell) and stage
`measurement_recorded` events in batch outbox records, all in one transaction
(`runtime.commit(..., batch_events=True)`).

Idempotent without an inbox: a measurement's id is its response id, so a redelivered event
(or the same response under another event id) finds its measurement stored and has no second
effect; an event that stores nothing (a survey, a refused one) has no effect to repeat. The
batch consumer runs with `use_inbox=False`, which saves a read and an insert per event.

Pipelined in two steps per batch: a plan (`ingest_plan.py`: reads, validation, the fold,
prepared writes, events) and its writes in one transaction. The batch consumer calls
`prepare` with the next batch while this one commits, so the next plan is computed during this
batch's writes, on top of what this batch will have written. Histories come from a
write-through cache (`history_cache.py`); only persons it does not know are read. A plan holds
only when the person-data epoch read inside its transaction is the one the plan expected and
no transaction on the database rolled back since its reads began (on an engine whose reads
outside a transaction see uncommitted writes, they may have seen data that was rolled back);
otherwise the transaction plans again from what it reads.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from wijkkracht_common.events.envelope import Envelope, SerializedEvent
from wijkkracht_common.events.questionnaires import ResponseSubmitted
from wijkkracht_common.messaging import PermanentError
from wijkkracht_common.storage import Session

from effect_measurement.adapters.repositories import MotorRepositories
from effect_measurement.domain.inputs import MeasurementInput
from effect_measurement.domain.trajectories import StoredMeasurement
from effect_measurement.service.history_cache import HistoryCache
from effect_measurement.service.ingest_plan import Entries, Plan, make_plan, plan_key
from effect_measurement.service.instruments import families, to_measurement
from effect_measurement.service.ports import Db, RepositoryFactory, Runtime


@dataclass(slots=True)
class Accepting:
    """A batch validated against the instrument families: measurements and refusals."""

    families: dict[str, frozenset[str]]
    accepted: list[tuple[Envelope[ResponseSubmitted], MeasurementInput | None]]
    refused: dict[str, str]


def _validate(
    envelopes: Sequence[Envelope[ResponseSubmitted]], known: dict[str, frozenset[str]]
) -> Accepting:
    result = Accepting(known, [], {})
    for envelope in envelopes:
        try:
            result.accepted.append((envelope, to_measurement(envelope, known)))
        except PermanentError as error:
            result.refused[envelope.id] = str(error)
    return result


class ResponseIngestion:
    """The batch consumer's `prepare` and `apply` for `response_submitted` (see the module
    docstring). One instance per consumer partition this process holds (`partition`, its
    durable's suffix); a tenant's batches of it are prepared and applied in order. Each
    partition has its own person-data epoch (added to the tenant's): a commit of another
    partition, which writes only other persons, does not void this one's plans and cache.

    Plans chain: each prepared plan builds on the tenant's latest plan (`_last`), which may
    itself be a prepared plan on top of the batch still being written (the consumer works up to
    two batches ahead); the persons of every plan not committed yet come from those plans. When
    a transaction cannot use its prepared plan (the epoch moved, a rollback) or fails, the
    tenant's generation goes up, which voids every plan built on the one not used.
    """

    _PLANS = 4  # prepared plans kept (a batch split after an error never uses its plan)

    def __init__(
        self,
        runtime: Runtime,
        history_cache_persons: int = 20_000,
        *,
        repositories: RepositoryFactory = MotorRepositories,
        partition: str | None = None,
    ) -> None:
        self.runtime = runtime
        #: The consumer partition whose batches this instance applies (its own epoch).
        self.partition = partition
        self.repositories = repositories
        self._caches: dict[str, HistoryCache[StoredMeasurement]] = defaultdict(
            lambda: HistoryCache(history_cache_persons)
        )
        self._planned: dict[tuple[str, ...], Plan] = {}
        # Batches `prepare` validated: `apply` skips validating them again (~4 % of the CPU).
        self._accepted: dict[tuple[str, ...], Accepting] = {}
        # Instrument families per tenant, read again only when an event is refused.
        self._families: dict[str, dict[str, frozenset[str]]] = {}
        self._last: dict[str, Plan] = {}
        self._generation: dict[str, int] = defaultdict(int)
        # Per tenant: set once the batch being applied knows which plan it writes.
        self._deciding: dict[str, asyncio.Future[None]] = {}

    async def _accept(self, db: Db, envelopes: Sequence[Envelope[ResponseSubmitted]]) -> Accepting:
        ahead = self._accepted.pop(tuple(e.id for e in envelopes), None)
        if not envelopes:
            return Accepting({}, [], {})
        tenant = envelopes[0].tenant  # the consumer hands over one tenant's batch
        known = self._families.get(tenant)
        if ahead is not None and ahead.families is known:
            return ahead  # `prepare` validated these envelopes against the same families
        reread = known is None
        repos = self.repositories(db, None, tenant)
        if known is None:
            known = self._families[tenant] = await families(repos)
        result = _validate(envelopes, known)
        if result.refused and not reread:
            # Families only grow: a refusal may be an instrument published since they were
            # read (e.g. through another replica). Read them again before refusing anything.
            known = self._families[tenant] = await families(repos)
            result = _validate(envelopes, known)
        return result

    async def prepare(self, db: Db, envelopes: Sequence[Envelope[ResponseSubmitted]]) -> None:
        """Plan the next batch on top of the latest plan (usually still being written)."""
        accepting = await self._accept(db, envelopes)
        while len(self._accepted) >= self._PLANS:
            self._accepted.pop(next(iter(self._accepted)))
        self._accepted[tuple(e.id for e in envelopes)] = accepting
        accepted = accepting.accepted
        if not accepted:
            return
        tenant = accepted[0][0].tenant
        deciding = self._deciding.get(tenant)
        if deciding is not None:
            await asyncio.shield(deciding)  # build on the plan the current batch writes
        generation = self._generation[tenant]
        base = self._last.get(tenant)
        if base is None or base.generation != generation:
            return  # nothing to build on: the batch plans inside its transaction
        # The histories once `base` is written. Plans not committed yet (the batch being
        # written, and the prepared one(s) on top of it) give their persons' histories; the
        # cache and the database hold what was committed before the oldest of them, so they
        # give everyone else's. A person of the batch being written read from the database
        # would miss what it has not written yet (the one-process replicas run: a second
        # follow-up folded against a history without the first).
        unwritten = base.unwritten()
        known: dict[str, Entries] = {}
        for pending in unwritten:
            known.update(pending.after)
        committed = unwritten[0].epoch if unwritten else base.epoch_after
        cache = self._caches[tenant]
        usable = cache if cache.holds_at((committed,)) else None
        plan = await make_plan(
            db,
            None,
            tenant,
            accepted,
            epoch=base.epoch_after,
            known=known,
            cache=usable,
            repositories=self.repositories,
        )
        if self._generation[tenant] != generation:
            return  # `base` was not used meanwhile
        plan.generation = generation
        plan.base = base
        while len(self._planned) >= self._PLANS:
            self._planned.pop(next(iter(self._planned)))
        self._planned[plan.key] = plan
        self._last[tenant] = plan

    async def __call__(
        self, db: Db, envelopes: Sequence[Envelope[ResponseSubmitted]], durable: str
    ) -> dict[str, str]:
        """The batch consumer's `apply`; returns refused event ids with the reason."""
        if not envelopes:
            return {}
        tenant = envelopes[0].tenant  # the consumer hands over one tenant's batch
        # Registered before the first wait: `prepare` of the next batch waits for it.
        deciding = self._deciding[tenant] = asyncio.get_running_loop().create_future()
        try:
            return await self._apply(db, tenant, envelopes, deciding)
        finally:
            if not deciding.done():
                deciding.set_result(None)
            if self._deciding.get(tenant) is deciding:
                del self._deciding[tenant]

    async def _apply(
        self,
        db: Db,
        tenant: str,
        envelopes: Sequence[Envelope[ResponseSubmitted]],
        deciding: asyncio.Future[None],
    ) -> dict[str, str]:
        accepting = await self._accept(db, envelopes)
        accepted, refused = accepting.accepted, accepting.refused
        if not accepted:
            return refused
        cache = self._caches[tenant]
        prepared = self._planned.pop(plan_key(accepted), None)
        if prepared is not None and prepared.generation != self._generation[tenant]:
            prepared = None
        used: list[Plan] = []

        async def work(db: Db, session: Session) -> tuple[int, list[SerializedEvent]]:
            retry = bool(used)
            used.clear()  # a retried transaction keeps only its last attempt's plan
            repos = self.repositories(db, session, tenant)
            epoch = await repos.settings.epoch(self.partition)
            plan = prepared
            if retry or plan is None or plan.epoch != epoch or plan.aborts != repos.rolled_back():
                plan = await make_plan(
                    db,
                    session,
                    tenant,
                    accepted,
                    epoch=epoch,
                    known={},
                    cache=cache if cache.valid_at(epoch) else None,
                    repositories=self.repositories,
                )
                # Plans built on another one (or on an earlier attempt) are void.
                self._generation[tenant] += 1
                plan.generation = self._generation[tenant]
                self._last[tenant] = plan
            if not deciding.done():
                deciding.set_result(None)
            used.append(plan)
            return await repos.write_ingestion(plan.writes, self.partition), plan.events

        try:
            await self.runtime.commit(tenant, work, batch_events=True)
        except BaseException:
            cache.clear()  # what it read may have changed; what it wrote is not committed
            self._generation[tenant] += 1
            self._last.pop(tenant, None)
            raise
        plan = used[0]
        plan.mark_committed()
        cache.record(plan.epoch_after, plan.after)
        return refused
