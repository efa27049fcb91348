"""How the service stops without losing work, and without waiting for work it has not begun.

The runtime's own shutdown (`ServiceRuntime.lifespan`) does the shared part: its intake
closes first (a consumed event whose handler has not begun its transaction is refused, its
message nak'd and delivered again: `wijkkracht_common.intake`), then the `on_stopping` steps
run, then the subscribers stop while the relay still runs (the events of the handlers that
finish are published now, not after the next start).

This service's own step: the group commit of submits refuses new submits (503 with
`Retry-After`) and finishes the batches it holds (`SubmitQueue.stop`). Every submit is
committed or refused, and none is lost.
"""

from __future__ import annotations

from wijkkracht_common.runtime import ServiceRuntime

from questionnaires.service.context import Context


def stop_first(runtime: ServiceRuntime, ctx: Context) -> None:
    """Register the service's shutdown step (`ServiceRuntime.on_stopping`)."""
    runtime.on_stopping(ctx.submissions.stop)


__all__ = ["stop_first"]
