"""How the service stops without losing work, and without waiting for work it has not begun.

When the app shuts down, the service first stops taking work, then lets the work already
running finish. Only after that does the runtime stop its jobs, the outbox relay, the broker
and the storage:
1. The consumers' intake closes (`service/intake.py`). A consumed event whose handler has not
   begun its transaction is refused, and its message is nak'd and delivered again.
2. The group commit of submits refuses new submits (503 with `Retry-After`) and finishes the
   batches it holds (`GroupCommit.stop`: close, then wait_idle). Every submit is committed
   or refused, and none is lost.
3. The broker's subscribers stop while the relay still runs. Each one waits for the handlers
   it started: they finish, or they are refused by step 1. The events of the handlers that
   finish are published now, not after the next start.

Why: a subscriber fetches up to 64 messages and starts them all together. Where the database
runs one transaction per database at a time, and a new tenant's instruments are seeded one
tenant at a time, most of those handlers wait. Waiting for all of them took longer than the
5 s a lifespan may take on a busy machine. Refused before they begin, they leave at once.
"""

from __future__ import annotations

import asyncio

from wijkkracht_common.observability import get_logger
from wijkkracht_common.runtime import ServiceRuntime

from questionnaires.service.context import Context

log = get_logger(__name__)


async def stop_taking_work(runtime: ServiceRuntime, ctx: Context) -> None:
    """Steps 1-3 of the module docstring: run them before the runtime's own shutdown."""
    ctx.intake.close()
    await ctx.submissions.stop()
    await asyncio.gather(*(subscriber.stop() for subscriber in runtime.broker.subscribers))
    if ctx.intake.refused:
        log.info("consumed events left for redelivery", refused=ctx.intake.refused)


def stop_first(runtime: ServiceRuntime, ctx: Context) -> None:
    """Run `stop_taking_work` first when the service stops (`ServiceRuntime.on_stopping`)."""

    async def step() -> None:
        await stop_taking_work(runtime, ctx)

    runtime.on_stopping(step)


__all__ = ["stop_first", "stop_taking_work"]
