"""Keep faststream's pull subscribers' tasks running: nats-py's `fetch` time-outs as
nats-py's error.

nats-py 2.16 (`PullSubscription.fetch`, since nats.py PR #934) raises the builtin
`TimeoutError` when its deadline has run out between its "no messages" probe and its waiting
request; everywhere else a fetch time-out is `nats.errors.TimeoutError`. faststream's pull
loop (`PullStreamSubscriber._consume_pull`) suppresses only the latter, so the builtin one
ends the subscriber's task. faststream's supervisor starts a new one, but logs an error and
keeps the failed task, with its traceback and frames, in the subscriber's task list: a busy
service grows that list (and its memory) without bound, and the failures show up as errors.
It happens when the event loop is busy while a subscriber's stream is idle: the server's
"request expired" reply is read just before the client's timer fires and the fetch resumes
after its deadline. Measured here: with 5 ms CPU stretches on the loop, 39 of 40 idle fetches
raised the builtin error, and an idle subscriber lost its task about once a second.

`install()` (called when `wijkkracht_common.messaging` is imported) re-raises it as
`nats.errors.TimeoutError`, a subclass of the builtin one: code that catches either still
catches it. Remove it once nats-py raises its own error there (the test
`libs/common/tests/integration/test_busy_loop_fetch.py` keeps checking the behaviour).
"""

from __future__ import annotations

import functools
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

_MARK = "_wk_nats_timeouts"


def install() -> None:
    """Wrap `PullSubscription.fetch` once per process."""
    pull = JetStreamContext.PullSubscription
    original = pull.fetch
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    async def fetch(self: Any, *args: Any, **kwargs: Any) -> list[Msg]:
        try:
            return await original(self, *args, **kwargs)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as error:
            raise nats.errors.TimeoutError from error

    setattr(fetch, _MARK, True)
    pull.fetch = fetch  # type: ignore[method-assign]
