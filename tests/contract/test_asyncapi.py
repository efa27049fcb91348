"""The AsyncAPI 3.0 document of the events is valid under the official AsyncAPI schema, is up
to date with the event classes, and describes what is really published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from wijkkracht_common.events.catalog import ASYNCAPI_PATH, all_events, asyncapi
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import ConsentGranted
from wijkkracht_common.events.questionnaires import ResponseSubmitted

OFFICIAL = Path(__file__).parent / "standards/asyncapi/asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi()


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    schema = json.loads(OFFICIAL.read_text())
    jsonschema.Draft7Validator(schema).validate(document)


def test_the_published_document_is_the_generated_one(document: dict[str, Any]) -> None:
    assert json.loads(ASYNCAPI_PATH.read_text()) == json.loads(json.dumps(document)), (
        "docs/asyncapi.json is out of date: run `make schemas`"
    )


def test_every_event_has_a_channel_and_every_reference_resolves(
    document: dict[str, Any],
) -> None:
    assert {c["address"] for c in document["channels"].values()} == {
        cls.subject_template() for cls in all_events()
    }
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref" and isinstance(v, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    for ref in refs:
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]  # KeyError: a dangling reference


@pytest.mark.parametrize(
    "event",
    [
        new_event(
            ConsentGranted(
                person_id="p1", organisation_slug="welzijn", purpose="share_results", version=2
            ),
            tenant="demo",
            subject="p1",
        ),
        new_event(
            ResponseSubmitted(
                response_id="r1",
                person_id="p1",
                instrument_id="pg",
                family="pg",
                variant="kort",
                version=1,
                purpose="self_assessment",
                submitted_at="2026-03-01T10:00:00Z",
                dimension_scores={"body": 7.5},
            ),
            tenant="demo",
            subject="r1",
        ),
    ],
    ids=lambda e: e.type,
)
def test_a_real_event_matches_its_message_payload(document: dict[str, Any], event: Any) -> None:
    schema = {**document, "$ref": f"#/components/messages/{event.type}/payload"}
    jsonschema.Draft7Validator(schema).validate(json.loads(event.model_dump_json()))


def test_an_event_without_its_required_data_does_not_match(document: dict[str, Any]) -> None:
    event = json.loads(
        new_event(
            ConsentGranted(person_id="p1", organisation_slug="welzijn", purpose="research"),
            tenant="demo",
            subject="p1",
        ).model_dump_json()
    )
    del event["data"]["person_id"]
    schema = {**document, "$ref": f"#/components/messages/{event['type']}/payload"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(event)
