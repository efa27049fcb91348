"""Stopping without losing work (issue 16, finding 7), without I/O: the group commit refuses
new submits and finishes those it holds. (The intake that refuses consumed events is
libs/common's: tests/unit/test_intake.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.service import responses
from questionnaires.service.context import Context
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import ServiceUnavailable

pytestmark = pytest.mark.unit
TENANT = "zaanstreek"


async def _started(ctx: Context, who: Principal) -> Any:
    authorised = await responses.authorise_start(
        ctx,
        who,
        instrument_id="health-short",
        version=None,
        person_id=None,
        organisation=None,
        invitation_id=None,
    )
    return await responses.start_authorised(ctx, authorised, language=None, params={})


async def test_a_closed_submit_queue_refuses_new_submits_and_stores_nothing(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
) -> None:
    me = principal("person-r1")
    record = await _started(ctx, me)
    ctx.submissions.close()
    with pytest.raises(ServiceUnavailable) as refused:
        await responses.submit(
            ctx, TENANT, record, actor=me.subject, answers=answers_for(health_short, 4)
        )
    assert refused.value.status == 503
    assert refused.value.headers == {
        "Retry-After": str(ctx.settings.unavailable_retry_after_seconds)
    }
    assert (await responses.load(ctx, TENANT, record.id)).status == "in_progress"
    assert uow.events(TENANT, "response_submitted") == []


async def test_closing_lets_the_submits_already_queued_commit(
    ctx: Context,
    uow: Any,
    principal: Callable[..., Principal],
    answers_for: Callable[..., dict[str, ItemAnswer]],
    health_short: InstrumentDefinition,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    me = principal("person-r1")
    first, second = await _started(ctx, me), await _started(ctx, me)
    answers = answers_for(health_short, 4)
    # The group commit's transaction begins and waits until the test lets it go on.
    began, go_on = asyncio.Event(), asyncio.Event()
    commit = uow.commit

    async def paused(tenant: str, work: Any, *, mail: bool = False) -> Any:
        began.set()
        await go_on.wait()
        return await commit(tenant, work, mail=mail)

    monkeypatch.setattr(uow, "commit", paused)
    in_flight = asyncio.create_task(
        responses.submit(ctx, TENANT, first, actor=me.subject, answers=answers)
    )
    await began.wait()
    ctx.submissions.close()
    idle = asyncio.create_task(ctx.submissions.wait_idle())
    with pytest.raises(ServiceUnavailable):  # after the close: refused
        await responses.submit(ctx, TENANT, second, actor=me.subject, answers=answers)
    for _ in range(3):  # let every ready task run: none may finish while the batch waits
        await asyncio.sleep(0)
    assert ctx.submissions.busy and not idle.done() and not in_flight.done()
    go_on.set()
    out, replayed = await in_flight
    await idle
    assert out["status"] == "submitted" and not replayed and not ctx.submissions.busy
    assert (await responses.load(ctx, TENANT, first.id)).status == "submitted"
    assert (await responses.load(ctx, TENANT, second.id)).status == "in_progress"
    assert [e["subject"] for e in uow.events(TENANT, "response_submitted")] == [first.id]
