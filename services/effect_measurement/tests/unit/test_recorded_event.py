"""`measurement_recorded` is rendered as JSON directly: byte for byte what the models give."""

from __future__ import annotations

from datetime import UTC, datetime

from effect_measurement.service.ingest_plan import recorded
from wijkkracht_common.events.effect_measurement import MeasurementRecorded
from wijkkracht_common.events.envelope import Envelope, new_event, parse_event
from wijkkracht_common.events.questionnaires import ResponseSubmitted


def test_the_rendered_event_is_the_envelope_the_models_would_give() -> None:
    cause = new_event(
        ResponseSubmitted(
            response_id="r-1",
            person_id="p-1",
            instrument_id="matrix",
            family="matrix",
            variant="standard",
            version=1,
            purpose="measurement",
            submitted_at=datetime.now(UTC),
            dimension_scores={},
            levels={"finances": 2},
        ),
        tenant="demo",
        subject="r-1",
        organisation="welzijn-a",
        actor="p-1",
        correlationid="c-1",
    )
    now = datetime(2026, 11, 22, 13, 5, 7, 123456, tzinfo=UTC)
    data = {
        "measurement_id": "r-1",
        "response_id": "r-1",
        "person_id": "p-1",
        "trajectory_id": "tr-abc",
        "family": "matrix",
        "sequence": 1,
        "recorded_at": now,
    }

    event = recorded("demo", cause, now, **data)

    expected: Envelope[MeasurementRecorded] = Envelope[MeasurementRecorded](
        id=event.id,
        source=MeasurementRecorded.event_source(),
        type=MeasurementRecorded.event_type(),
        time=now,
        subject="tr-abc",
        tenant="demo",
        organisation="welzijn-a",
        actor="p-1",
        correlationid="c-1",
        data=MeasurementRecorded(**data),
    )
    assert event.json == expected.model_dump_json()
    assert parse_event(MeasurementRecorded, event.json) == expected
    assert event.type == expected.type and event.nats_subject == expected.nats_subject
