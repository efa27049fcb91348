"""What every use case needs: the runtime, settings, a clock and the definition cache."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from wijkkracht_common.events.questionnaires import InstrumentPurpose
from wijkkracht_common.outbox import stage
from wijkkracht_common.runtime import ServiceRuntime, Work
from wijkkracht_common.storage import Database, Session

from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.settings import Settings

T = TypeVar("T")
#: Under load, wake the outbox relay at most this often (seconds); see `Context.commit`.
RELAY_WAKE_INTERVAL = 0.02

SERVICE = "questionnaires"

#: Purpose per family (documented in README): health self-assessments are conversation
#: tools, effect monitor and self-sufficiency matrix are measurements, everything else a
#: survey. An organisation may set `purpose` explicitly when it imports an instrument.
_PURPOSE_BY_FAMILY: dict[str, InstrumentPurpose] = {
    "health-self-assessment": "self_assessment",
    "effect-monitor": "measurement",
    "self-sufficiency-matrix": "measurement",
}


def purpose_for_family(family: str) -> InstrumentPurpose:
    return _PURPOSE_BY_FAMILY.get(family, "survey")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    runtime: ServiceRuntime
    settings: Settings
    # (tenant, instrument id, version) -> definition. Only the published form is cached: a
    # published version never changes except its status, which callers read from the database.
    definitions: dict[tuple[str, str, int], InstrumentDefinition] = field(default_factory=dict)
    seeded_tenants: set[str] = field(default_factory=set)

    _wake_pending: bool = False

    async def db(self, tenant: str) -> Database[dict[str, Any]]:
        return await self.runtime.storage.tenant_db(tenant)

    async def commit(self, tenant: str, work: Work[T], *, mail: bool = False) -> T:
        """`runtime.commit` (state + events in one transaction), but waking the relays
        sparingly: `runtime.commit` wakes the outbox AND the mail relay after every commit,
        and each relay pass lists all databases, so under load the relays' back-to-back
        passes compete with the requests for the embedded database. Here the outbox relay
        is woken at most every RELAY_WAKE_INTERVAL (events wait at most that long), the
        mail relay only when mail was staged."""
        db = await self.db(tenant)

        async def callback(session: Session) -> T:
            result, events = await work(db, session)
            await stage(db, list(events), session=session)
            return result

        result = await self.runtime.storage.in_transaction(db, callback)
        self.wake_relay()
        if mail and self.runtime.mail is not None:
            self.runtime.mail.notify()
        return result

    def wake_relay(self) -> None:
        relay = self.runtime.relay
        if relay is None or self._wake_pending:
            return
        self._wake_pending = True

        def wake() -> None:
            self._wake_pending = False
            relay.notify()

        asyncio.get_running_loop().call_later(RELAY_WAKE_INTERVAL, wake)


__all__ = ["SERVICE", "Context", "purpose_for_family", "utcnow"]
