"""Authorization decisions (`service/access.py`) on domain objects, with consents in the
in-memory repositories."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.domain.instrument import Instrument
from questionnaires.domain.invitation import Invitation
from questionnaires.domain.response import Response
from questionnaires.domain.response_record import ResponseRecord
from questionnaires.service import access
from questionnaires.service.access import Viewer
from questionnaires.service.tokens import new_token
from wijkkracht_common.auth import Principal
from wijkkracht_common.consent import ConsentState
from wijkkracht_common.errors import Forbidden

pytestmark = pytest.mark.unit
AT = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def _record(
    person_id: str | None = "person-r1",
    *,
    assisted_by: str | None = None,
    organisation: str | None = None,
    submitted: bool = True,
) -> ResponseRecord:
    response = Response.start(
        response_id="r1",
        definition=shipped_instrument("health-short"),
        subject_id=person_id,
        language="nl",
        now=AT,
        assisted_by=assisted_by,
    )
    if submitted:
        response = response.model_copy(update={"status": "submitted", "submitted_at": AT})
    return ResponseRecord(response, "self_assessment", organisation=organisation)


async def _grant(uow: Any, organisation: str, purpose: str, granted: bool = True) -> None:
    consents = (await uow.reader("zaanstreek")).consents
    await consents.put(ConsentState("person-r1", organisation, purpose, granted, 0, AT))


async def test_who_sees_a_response(uow: Any, principal: Callable[..., Principal]) -> None:
    consents = (await uow.reader("zaanstreek")).consents
    record = _record()
    pro = principal("person-p1", de_smd=["professional"], wijkteam=["volunteer"])

    assert await access.viewer_of(consents, principal("person-r1"), record) == Viewer("owner")
    assert await access.viewer_of(consents, pro, record) is None  # no consent: 404
    await _grant(uow, "wijkteam", "share_results")
    await _grant(uow, "de-smd", "share_results")
    # One of the caller's organisations with consent (the first), on whose behalf it is logged.
    assert await access.viewer_of(consents, pro, record) == Viewer("share_results", "de-smd")
    await _grant(uow, "de-smd", "share_results", granted=False)
    assert await access.viewer_of(consents, pro, record) == Viewer("share_results", "wijkteam")
    # Consent covers submitted responses only; a resident without a staff role sees nothing.
    assert await access.viewer_of(consents, pro, _record(submitted=False)) is None
    assert await access.viewer_of(consents, principal("person-x"), record) is None
    # The staff member who filled it in with the resident, also before the submit.
    helped = _record(assisted_by="person-p2", organisation="de-smd", submitted=False)
    helper = principal("person-p2", de_smd=["volunteer"])
    assert await access.viewer_of(consents, helper, helped) == Viewer("assisted", "de-smd")
    # Anonymous responses: nobody by token.
    assert await access.viewer_of(consents, pro, _record(None)) is None


async def test_fhir_export_needs_share_with_gp(
    uow: Any, principal: Callable[..., Principal]
) -> None:
    consents = (await uow.reader("zaanstreek")).consents
    record = _record()
    pro = principal("person-p1", de_smd=["professional"])
    owner = Viewer("owner")
    assert await access.fhir_viewer(consents, principal("person-r1"), record, owner) == owner
    await _grant(uow, "de-smd", "share_results")
    viewer = await access.viewer_of(consents, pro, record)
    assert viewer is not None
    with pytest.raises(Forbidden) as refused:
        await access.fhir_viewer(consents, pro, record, viewer)
    assert refused.value.status == 403
    await _grant(uow, "de-smd", "share_with_gp")
    assert await access.fhir_viewer(consents, pro, record, viewer) == Viewer(
        "share_with_gp", "de-smd"
    )


def test_who_changes_a_response(principal: Callable[..., Principal]) -> None:
    record = _record(submitted=False)
    assert access.may_change(principal("person-r1"), record)
    assert not access.may_change(principal("person-x", de_smd=["professional"]), record)
    helped = _record(assisted_by="person-p1", organisation="de-smd", submitted=False)
    assert access.may_change(principal("person-p1"), helped)
    token, token_hash = new_token()
    anonymous = replace(_record(None, submitted=False), resume_hash=token_hash)
    assert access.may_change_anonymously(anonymous, token)
    assert not access.may_change_anonymously(anonymous, "wrong")
    assert not access.may_change_anonymously(replace(record, resume_hash=token_hash), token)


def test_who_sees_an_invitation(principal: Callable[..., Principal]) -> None:
    invitation = Invitation(
        id="i1",
        instrument_id="health-short",
        person_id="person-r1",
        email=None,
        organisation="de-smd",
        invited_by="person-p1",
        due_at=None,
        followup_of=None,
        status="sent",
        created_at=AT,
        updated_at=AT,
    )
    assert access.invitation_viewer(principal("person-r1"), invitation) == "invited"
    assert access.invitation_viewer(principal("p", de_smd=["volunteer"]), invitation) == "staff"
    assert access.invitation_viewer(principal("p", de_smd=["org_admin"]), invitation) is None
    assert access.invitation_viewer(principal("p", other=["professional"]), invitation) is None
    with pytest.raises(Forbidden):
        access.require_inviter(principal("p", de_smd=["resident"]), "de-smd")
    access.require_inviter(principal("p", de_smd=["professional"]), "de-smd")


def test_who_sees_and_administers_instruments(principal: Callable[..., Principal]) -> None:
    definition = shipped_instrument("health-short")
    shipped = Instrument(definition, None, "self_assessment")
    draft = Instrument(definition.model_copy(update={"status": "draft"}), "de-smd", "survey")
    admin = principal("p", de_smd=["org_admin"])
    assert access.instrument_visible(None, shipped)
    assert access.instrument_visible(admin, draft)
    assert not access.instrument_visible(principal("p", de_smd=["professional"]), draft)
    assert not access.instrument_visible(None, draft)
    assert access.require_instrument_admin(admin, draft) == "de-smd"
    with pytest.raises(Forbidden):  # shipped instruments are read-only
        access.require_instrument_admin(admin, shipped)
    with pytest.raises(Forbidden):
        access.require_instrument_admin(principal("p", other=["org_admin"]), draft)
