"""Ids in plain words (access-log lines, roles, purposes) and the export archive (pure)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

from identity.adapters import export_archive as archive
from identity.domain import descriptions as words
from identity.domain.exports import KEPT_FOR, ExportJob, ExportState

NOW = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


def test_a_staff_member_is_named_as_the_resident_knows_them() -> None:
    assert words.short_name("Jan de Vries") == "J. de Vries"
    assert words.short_name("J. de Vries") == "J. de Vries"
    assert words.short_name("Fatima") == "Fatima"
    label = words.person_label("jan de Vries", ["resident", "professional"])
    assert (label.nl, label.en) == ("J. de Vries, sociaal werker", "J. de Vries, social worker")
    assert words.person_label("Ina Bakker", []).nl == "I. Bakker"  # left the organisation


def test_what_and_why_in_plain_words_with_a_fallback_for_unknown_kinds() -> None:
    assert words.what("read", "response/r-1").nl == "bekeek uw ingevulde vragenlijst"
    assert words.what("read", "response/r-1").en == "viewed your completed questionnaire"
    assert words.what("read", "garden/g-1").nl == "bekeek uw gegevens (garden)"
    assert words.why("share_results").nl.startswith("U gaf toestemming")
    assert words.why("written_request").en == "You asked for it in writing."
    assert words.why("audit").nl == "Reden: audit"


def test_an_export_job_waits_for_every_expected_part_then_is_ready() -> None:
    job = ExportJob.requested(
        "x1", "p1", at=NOW, by="p1", expected=["social_map", "questionnaires"]
    )
    assert job.pending_services == ("questionnaires", "social_map") and not job.by_admin
    assert job.state(NOW) is ExportState.RUNNING
    job = job.with_part("questionnaires", object_name="t/x1/questionnaires.json", counts={}, at=NOW)
    job = job.with_part(
        "questionnaires", object_name="t/x1/questionnaires.json", counts={"r": 2}, at=NOW
    )
    assert [p.counts for p in job.parts] == [{"r": 2}] and not job.all_parts_in
    job = job.with_part("social_map", object_name="t/x1/social_map.json", counts={}, at=NOW)
    assert job.all_parts_in
    ready = job.ready("t/x1/archive.zip", NOW)
    assert ready.state(NOW) is ExportState.READY
    assert ready.state(NOW + KEPT_FOR) is ExportState.EXPIRED
    assert ready.object_names("t/x1/{service}.json", "t/x1/archive.zip") == [
        "t/x1/archive.zip",
        "t/x1/questionnaires.json",
        "t/x1/social_map.json",
    ]
    by_admin = ExportJob.requested("x2", "p1", at=NOW, by="admin-1", expected=[], reason="brief")
    assert by_admin.by_admin and by_admin.all_parts_in


def test_the_archive_has_a_file_per_service_the_fhir_bundle_and_a_bilingual_summary() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    parts = {
        "identity": {"service": "identity", "profile": {"display_name": "Ina"}},
        "questionnaires": {"service": "questionnaires", "fhir_bundle": bundle, "counts": {}},
        "social_map": {"service": "social_map", "counts": {"reports": 0}},
    }
    summary = archive.Summary(
        created_at=NOW,
        requested=("U vroeg zelf om deze kopie.", "You asked for this copy yourself."),
        sections=(
            archive.SummarySection(
                title=("Uw account", "Your account"),
                headers=(("Gegeven", "Item"), ("Waarde", "Value")),
                rows=(archive.SummaryRow(((("Naam", "Name")), ("<b>Ina</b>", "<b>Ina</b>"))),),
            ),
        ),
        files=((archive.SUMMARY, ("deze samenvatting", "this summary")),),
    )
    content = archive.build_archive(parts, summary)
    with zipfile.ZipFile(io.BytesIO(content)) as zipped:
        assert sorted(zipped.namelist()) == [
            "identity.json",
            "questionnaires-fhir-bundle.json",
            "questionnaires.json",
            "samenvatting.html",
            "social_map.json",
        ]
        assert json.loads(zipped.read("questionnaires-fhir-bundle.json")) == bundle
        html = zipped.read("samenvatting.html").decode()
    assert html.index("Uw gegevens bij Wijkkracht") < html.index("Your data at Wijkkracht")
    assert "&lt;b&gt;Ina&lt;/b&gt;" in html and "<b>Ina</b>" not in html  # escaped
    assert "02-03-2026" in html and "2026-03-02" in html


def test_questionnaires_invitations_and_assisted_filling_in_in_words() -> None:
    invited = words.what("create", "invitation/i-1")
    assert invited.nl.endswith("uw uitnodiging voor een vragenlijst")
    assert invited.en.endswith("your invitation to a questionnaire")
    listed = words.what("list", "invitations")
    assert listed.nl.endswith("de lijst met uitnodigingen")
    assert listed.en.endswith("the list of invitations")
    assert words.why("assisted") == words.Text(
        "U vulde de vragenlijst samen met een medewerker in.",
        "You filled in the questionnaire together with a staff member.",
    )
    assert words.why("invitation") == words.Text(
        "Uw organisatie nodigde u uit voor een vragenlijst.",
        "Your organisation invited you to fill in a questionnaire.",
    )
