"""One trace from a questionnaire's HTTP submit through effect measurement's batch consumer:
the batch is one span linked to the trace of every response it applies, and the
`measurement_recorded` events it stages carry that span's trace onwards."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import Harness, response, running, wait_for
from nats.js.api import ConsumerConfig, DeliverPolicy
from opentelemetry import propagate, trace
from wijkkracht_common.testing.issuer import TestIssuer

pytestmark = pytest.mark.integration
DURABLE = "effect_measurement__questionnaires_response_submitted_v1"


@pytest.fixture
async def traced(
    nats_url: str, mongo_url: str, test_issuer: TestIssuer, span_capture: Any
) -> AsyncIterator[Harness]:
    async with running(nats_url, mongo_url, test_issuer, tracing=True) as h:
        yield h


async def _recorded(harness: Harness, tenant: str, response_id: str) -> dict[str, str] | None:
    """The headers of the `measurement_recorded` event of this response, once published."""
    sub = await harness.js.pull_subscribe(
        f"wk.{tenant}.effect_measurement.measurement_recorded.v1",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    try:
        for message in await sub.fetch(50, timeout=0.5):
            if json.loads(message.data)["data"]["response_id"] == response_id:
                return dict(message.headers or {})
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return None


async def test_a_trace_runs_from_the_submit_through_the_batch_consumer(
    traced: Harness, two_tenants: Any, span_capture: Any
) -> None:
    tenant = two_tenants.a
    submitted = response(tenant, "p-traced", levels={"finances": 2})
    # What questionnaires' submit does: the request's span is current while the event is
    # staged, so its `traceparent` travels with the event.
    tracer = trace.get_tracer("questionnaires-test")
    with tracer.start_as_current_span("POST /questionnaires/v1/responses/{id}/submit") as submit:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
    submit_trace = format(submit.get_span_context().trace_id, "032x")
    await traced.js.publish(
        submitted.nats_subject,
        submitted.model_dump_json().encode(),
        headers={"Nats-Msg-Id": submitted.id, **carrier},
    )

    headers = await wait_for(lambda: _recorded(traced, tenant, submitted.data.response_id))
    batches = [
        s
        for s in span_capture.get_finished_spans()
        if s.name.startswith(f"{DURABLE}__p")
        and s.name.endswith(" process batch")
        and submit_trace in {format(link.context.trace_id, "032x") for link in s.links}
    ]
    assert len(batches) == 1
    [batch] = batches
    assert batch.attributes["wk.tenant"] == tenant
    # The event the batch staged continues the batch's trace.
    assert headers["traceparent"].split("-")[1] == format(batch.context.trace_id, "032x")
