"""Stopping without losing work (issue 16, finding 7), without I/O: once the intake is closed,
consumed events that have not begun are refused (so their messages are nak'd and delivered
again), HTTP work is not refused; the group commit refuses new submits and finishes those it
holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from questionnaires.adapters.unit_of_work import ShuttingDown
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.service import responses
from questionnaires.service.context import Context
from questionnaires.service.intake import Intake
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import ServiceUnavailable
from wijkkracht_common.messaging import Delivery, PermanentError
from wijkkracht_common.storage import TRANSIENT_ERRORS

pytestmark = pytest.mark.unit
TENANT = "zaanstreek"


def message(attempt: int = 1) -> Delivery:
    return Delivery(subject="wk.t.identity.tenant_created.v1", attempt=attempt, durable="q__t")


def test_an_open_intake_admits_everything() -> None:
    intake = Intake(max_deliver=3)
    intake.admit()
    intake.admit_consumed()
    with intake.applying(message()):
        intake.admit()
        intake.admit_consumed()
    assert intake.refused == 0


def test_a_closed_intake_refuses_consumed_events_only() -> None:
    intake = Intake(max_deliver=3)
    with intake.applying(message()):
        intake.close()
        # A handler that has not begun its transaction yet: refused there.
        with pytest.raises(ShuttingDown):
            intake.admit()
    # An HTTP request or a job (no message): its work goes on.
    intake.admit()
    # A commit only consumers make, whose message is not known: refused.
    with pytest.raises(ShuttingDown):
        intake.admit_consumed()
    # A message arriving after the close: refused before its handler does anything.
    with pytest.raises(ShuttingDown), intake.applying(message()):
        pytest.fail("the handler must not run")
    assert intake.refused == 3


def test_a_message_on_its_last_delivery_is_applied_anyway() -> None:
    """Refusing it would dead-letter it: settle gives up after `max_deliver`."""
    intake = Intake(max_deliver=3)
    intake.close()
    with intake.applying(message(attempt=3)):
        intake.admit()
        intake.admit_consumed()
    with pytest.raises(ShuttingDown), intake.applying(message(attempt=2)):
        pass
    assert intake.refused == 1


def test_a_refusal_is_retried_by_the_settle_policy_never_dead_lettered_as_invalid() -> None:
    """`messaging.settle` dead-letters PermanentError/ValueError at once and naks transient
    errors with back-off (one log line each)."""
    refusal = ShuttingDown("stopping")
    assert isinstance(refusal, TRANSIENT_ERRORS)
    assert not isinstance(refusal, PermanentError | ValueError)


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
