"""What every use case needs: the runtime, settings, a clock and the definition cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from wijkkracht_common.events.questionnaires import InstrumentPurpose
from wijkkracht_common.runtime import ServiceRuntime, Work
from wijkkracht_common.storage import Database

from questionnaires.adapters.documents import RESPONSES
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.service.batched_reads import BatchedReader
from questionnaires.service.submissions import SubmitQueue
from questionnaires.settings import Settings

T = TypeVar("T")

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
    # Group commit of submits (see service/submissions.py).
    submissions: SubmitQueue = field(init=False)
    # Reads of responses by id, batched per tenant (see service/batched_reads.py).
    response_reads: BatchedReader = field(init=False)

    def __post_init__(self) -> None:
        self.submissions = SubmitQueue(self.runtime)
        self.response_reads = BatchedReader(self.db, RESPONSES)

    async def db(self, tenant: str) -> Database[dict[str, Any]]:
        return await self.runtime.storage.tenant_db(tenant)

    async def commit(self, tenant: str, work: Work[T], *, mail: bool = False) -> T:
        """`runtime.commit` (state + events in one transaction); `mail=True` also wakes the
        mail relay (otherwise it sends at its next poll)."""
        result = await self.runtime.commit(tenant, work)
        if mail:
            self.runtime.notify_mail()
        return result


__all__ = ["SERVICE", "Context", "purpose_for_family", "utcnow"]
