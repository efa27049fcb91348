from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import pytest
from pydantic import ValidationError
from wijkkracht_common.events.envelope import (
    EventData,
    new_event,
    parse_event,
    tenant_of_subject,
)
from wijkkracht_common.events.identity import ConsentGranted, PersonRegistered

pytestmark = pytest.mark.unit


class Other(EventData):
    producer: ClassVar[str] = "identity"
    event_name: ClassVar[str] = "other"
    x: int = 0


def test_envelope_attributes_derive_from_the_class() -> None:
    env = new_event(
        ConsentGranted(person_id="p1", organisation_slug="org", purpose="research"),
        tenant="zaanstreek",
        subject="p1",
        actor="p1",
    )
    assert env.specversion == "1.0"
    assert env.type == "nl.wijkkracht.identity.consent_granted.v1"
    assert env.source == "/wijkkracht/identity"
    assert env.nats_subject == "wk.zaanstreek.identity.consent_granted.v1"
    assert env.time.tzinfo is not None
    # UUIDv7: version nibble 7, time ordered
    assert env.id[14] == "7"
    later = new_event(Other(), tenant="zaanstreek", subject="s")
    assert later.id > env.id


def test_round_trip_and_unknown_fields_ignored() -> None:
    env = new_event(PersonRegistered(person_id="p1", pc4="9903"), tenant="demo", subject="p1")
    raw = env.model_dump(mode="json")
    raw["data"]["field_from_the_future"] = 1
    raw["future_attribute"] = "x"
    parsed = parse_event(PersonRegistered, raw)
    assert parsed.data.person_id == "p1" and parsed.id == env.id


def test_wrong_type_and_bad_tenant_are_rejected() -> None:
    env = new_event(Other(), tenant="demo", subject="s")
    registered = new_event(PersonRegistered(person_id="p"), tenant="demo", subject="p")
    with pytest.raises(ValueError, match="is not"):
        parse_event(Other, registered.model_dump_json())  # valid data, wrong event type
    bad = env.model_dump(mode="json") | {"tenant": "Not A Slug"}
    with pytest.raises(ValidationError):
        parse_event(Other, bad)
    naive = env.model_dump(mode="json") | {"time": datetime(2026, 1, 1).isoformat()}
    with pytest.raises(ValidationError):
        parse_event(Other, naive)


def test_no_personal_data_in_identity_events() -> None:
    for cls in (PersonRegistered,):
        assert not {"email", "name", "display_name", "address", "bsn"} & set(cls.model_fields)


def test_tenant_of_subject() -> None:
    assert tenant_of_subject("wk.demo.identity.x.v1") == "demo"
    assert tenant_of_subject("demo.identity.x.v1") == ""
