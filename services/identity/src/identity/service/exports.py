"""Export of everything (see `domain.exports`): where identity handles it.

`request_own` (the resident) and `request_for_person` (a tenant admin, on the resident's
written request, reason required) store a job, log the access and publish
`person_export_requested` in one transaction; a job still running is returned instead.
`on_part_exported` applies each service's `<service>_person_data_exported` once (dropped
for an erased person) and, when every expected part is in, `assemble` builds the archive:
identity's own part (profile, memberships, consents with history, the access log in plain
words), a JSON file per service, the questionnaires' FHIR bundle and a summary
(`adapters.export_archive`). The archive goes to the same object store as the parts
(`wijkkracht_common.export`, kept 7 days). `assemble_pending` (a periodic job) finishes
exports whose archive was not built (a crash, the object store away).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from nats.js.errors import NotFoundError, ObjectDeletedError
from wijkkracht_common import export
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound, Problem
from wijkkracht_common.events.common import PersonDataExportedBase
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.identity import PersonExportRequested
from wijkkracht_common.messaging import Delivery, PermanentError, apply_once
from wijkkracht_common.observability import get_logger
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.adapters import export_archive as archive
from identity.adapters.repositories import Repositories
from identity.domain import descriptions as words
from identity.domain.access_log import AccessLine
from identity.domain.consent import ConsentLedger
from identity.domain.exports import ExportJob, ExportState
from identity.domain.roles import Role
from identity.service.access_log import whole_log
from identity.service.context import NOT_FOUND, Db, Identity
from identity.service.people import calling_person
from identity.service.permissions import acting_organisation

log = get_logger(__name__)

X = TypeVar("X", bound=PersonDataExportedBase)

ARCHIVE_FILE = "archive.zip"
NOT_READY = "Uw export is nog niet klaar. / Your export is not ready yet."
EXPIRED = (
    "Deze export is niet meer beschikbaar; vraag een nieuwe aan. / This export is no longer "
    "available; request a new one."
)


def archive_name(tenant: str, export_id: str) -> str:
    return f"{tenant}/{export_id}/{ARCHIVE_FILE}"


def export_objects(tenant: str, job: ExportJob) -> list[str]:
    """Every object the job may have in the store (parts and archive), for erasure."""
    return job.object_names(
        export.part_name(tenant, job.id, "{service}"), archive_name(tenant, job.id)
    )


# ---- requests --------------------------------------------------------------------------------


async def request_own(ctx: Identity, principal: Principal) -> tuple[ExportJob, bool]:
    """The resident's request; (job, whether it was started now)."""
    person = await calling_person(ctx, principal)
    return await _start(ctx, principal, person.id, reason=None)


async def request_for_person(
    ctx: Identity, principal: Principal, person_id: str, reason: str
) -> tuple[ExportJob, bool]:
    """A tenant admin acting on the resident's written request; another tenant's or an
    unknown person is 404."""
    person = await (await ctx.tenant(principal.tenant)).people.get(person_id)
    if person is None or not person.is_active:
        raise NotFound(NOT_FOUND)
    return await _start(ctx, principal, person.id, reason=reason)


async def _start(
    ctx: Identity, principal: Principal, person_id: str, *, reason: str | None
) -> tuple[ExportJob, bool]:
    now = ctx.now()
    running_for = timedelta(hours=ctx.settings.export_running_hours)
    by_admin = principal.person_id != person_id

    async def work(db: Db, session: Session) -> tuple[tuple[ExportJob, bool], list[Staged]]:
        within = ctx.within(db, session)
        for job in await within.exports.of_person(person_id):
            if job.is_running(now, running_for):
                return (job, False), []
        job = ExportJob.requested(
            new_event_id(),
            person_id,
            at=now,
            by=principal.subject,
            expected=ctx.settings.export_expected_services,
            reason=reason,
        )
        await within.exports.save(job)
        # The stated reason stays in the job (free text never travels in events).
        await within.access_log.record(
            principal,
            resident=person_id,
            action="export",
            resource=f"export/{job.id}",
            reason="written_request" if by_admin else "resident_request",
            on_behalf_of=acting_organisation(principal, Role.TENANT_ADMIN) if by_admin else None,
        )
        requested = new_event(
            PersonExportRequested(export_id=job.id, person_id=person_id),
            tenant=principal.tenant,
            subject=person_id,
            actor=principal.subject,
        )
        return (job, True), [requested]

    job, created = await ctx.runtime.commit(principal.tenant, work)
    if created and job.all_parts_in:  # no service to wait for
        await assemble(ctx, principal.tenant, job.id)
        job = await _job(ctx, principal.tenant, job.id) or job
    return job, created


# ---- reading -------------------------------------------------------------------------------------


async def _job(ctx: Identity, tenant: str, export_id: str) -> ExportJob | None:
    return await (await ctx.tenant(tenant)).exports.get(export_id)


async def own_exports(ctx: Identity, principal: Principal) -> list[ExportJob]:
    person = await calling_person(ctx, principal)
    return await (await ctx.tenant(principal.tenant)).exports.of_person(person.id)


async def own_export(ctx: Identity, principal: Principal, export_id: str) -> ExportJob:
    """The resident's own export; anyone else's is 404."""
    person = await calling_person(ctx, principal)
    job = await _job(ctx, principal.tenant, export_id)
    if job is None or job.person_id != person.id:
        raise NotFound(NOT_FOUND)
    return job


async def export_for_admin(
    ctx: Identity, principal: Principal, person_id: str, export_id: str
) -> ExportJob:
    job = await _job(ctx, principal.tenant, export_id)
    if job is None or job.person_id != person_id:
        raise NotFound(NOT_FOUND)
    return job


async def archive_of(ctx: Identity, tenant: str, job: ExportJob) -> bytes:
    """The archive's bytes: 409 while it is being made, 410 once it is gone."""
    if job.state(ctx.now()) is ExportState.EXPIRED:
        raise Problem(EXPIRED, status=410, kind="export-expired")
    if job.archive_object is None:
        raise Problem(NOT_READY, status=409, kind="export-not-ready")
    bucket = await export.export_bucket(ctx.runtime.js)
    try:
        stored = await bucket.get(job.archive_object)
    except (NotFoundError, ObjectDeletedError) as error:  # aged out of the store
        raise Problem(EXPIRED, status=410, kind="export-expired") from error
    return bytes(stored.data or b"")


async def download_for_admin(
    ctx: Identity, principal: Principal, person_id: str, export_id: str
) -> tuple[ExportJob, bytes]:
    """An admin downloads the archive to hand it over (access-logged)."""
    job = await export_for_admin(ctx, principal, person_id, export_id)
    data = await archive_of(ctx, principal.tenant, job)
    await (await ctx.tenant(principal.tenant)).access_log.record(
        principal,
        resident=person_id,
        action="download",
        resource=f"export/{job.id}",
        reason="written_request",
        on_behalf_of=acting_organisation(principal, Role.TENANT_ADMIN),
    )
    ctx.runtime.notify_relay()
    return job, data


# ---- the services' parts ---------------------------------------------------------------------


async def on_part_exported(ctx: Identity, envelope: Envelope[X], delivery: Delivery) -> bool:
    """Consumer of every producer's `person_data_exported`, applied once per event."""
    data = envelope.data

    async def effect(db: Db, session: Session) -> list[Staged]:
        await record_part(ctx.within(db, session), envelope, ctx.now())
        return []

    applied = await apply_once(ctx.runtime, envelope, delivery, effect, person=data.person_id)
    repos = await ctx.tenant(envelope.tenant)
    if not applied and await repos.erased_persons.contains(envelope.tenant, data.person_id):
        # A part stored after the person's erasure: dropped, and gone from the store too.
        await export.delete_parts(ctx.runtime.js, [data.object_name])
        return applied
    try:
        await assemble(ctx, envelope.tenant, data.export_id)
    except Exception:  # the part is recorded; `assemble_pending` tries again later
        log.exception("export archive not built yet", export_id=data.export_id)
    return applied


async def record_part(within: Repositories, envelope: Envelope[X], now: datetime) -> None:
    data = envelope.data
    job = await within.exports.get(data.export_id)
    if job is None or job.person_id != data.person_id:
        raise PermanentError(f"no export {data.export_id} was requested for this person")
    await within.exports.save(
        job.with_part(type(data).producer, object_name=data.object_name, counts=data.counts, at=now)
    )


# ---- the archive -----------------------------------------------------------------------------


async def assemble(ctx: Identity, tenant: str, export_id: str) -> bool:
    """Build and store the archive once every part is in; True when it was made now."""
    repos = await ctx.tenant(tenant)
    job = await repos.exports.get(export_id)
    now = ctx.now()
    if job is None or job.is_ready or not job.all_parts_in:
        return False
    if job.state(now) is ExportState.EXPIRED:
        return False
    js = ctx.runtime.js
    parts: dict[str, dict[str, Any]] = {
        p.service: await export.read_part(js, p.object_name) for p in job.parts
    }
    parts["identity"], lines = await identity_part(repos, job.person_id)
    content = archive.build_archive(parts, _summary(job, parts, lines, now))
    name = archive_name(tenant, job.id)
    bucket = await export.export_bucket(js)
    await bucket.put(name, content)

    async def work(db: Db, session: Session) -> tuple[bool, list[Staged]]:
        exports = ctx.within(db, session).exports
        current = await exports.get(export_id)
        if current is None or current.is_ready:
            return False, []
        await exports.save(current.ready(name, now))
        return True, []

    made: bool = await ctx.runtime.commit(tenant, work)
    if not made and await repos.exports.get(export_id) is None:
        await export.delete_parts(js, [name])  # erased meanwhile: the archive goes too
    return made


async def assemble_pending(ctx: Identity) -> int:
    """Periodic: exports whose parts are all in but whose archive is missing."""
    made = 0
    for tenant in await ctx.runtime.storage.tenants():
        for job in await (await ctx.tenant(tenant)).exports.unassembled():
            try:
                made += int(await assemble(ctx, tenant, job.id))
            except Exception:
                log.exception("export archive not built", tenant=tenant, export_id=job.id)
    return made


async def identity_part(
    repos: Repositories, person_id: str
) -> tuple[dict[str, Any], list[AccessLine]]:
    """Identity's own part: profile, memberships, consents with history, the access log."""
    person = await repos.people.get(person_id)
    if person is None:
        raise NotFound(NOT_FOUND)
    memberships = await repos.memberships.of_person(person_id)
    ledger = await repos.consents.get(person_id)
    lines = await whole_log(repos, person_id)
    names = {m.organisation: await _org_name(repos, m.organisation) for m in memberships}
    part: dict[str, Any] = {
        "service": "identity",
        "person_id": person_id,
        "profile": {
            "id": person.id,
            "display_name": person.display_name,
            "email": person.email,
            "pc4": person.pc4,
            "neighbourhood_code": person.neighbourhood_code,
            "birth_year": person.birth_year,
            "household_type": person.household_type,
            "created_at": person.created_at.isoformat(),
            "has_password": person.password_hash is not None,
        },
        "memberships": [
            {
                "organisation": m.organisation,
                "organisation_name": names[m.organisation],
                "roles": sorted(r.value for r in m.roles),
                "team": m.team,
            }
            for m in sorted(memberships, key=lambda m: m.organisation)
        ],
        "consents": _consents(ledger),
        "access_log": [_line(line) for line in lines],
        "counts": {
            "profile": 1,
            "memberships": len(memberships),
            "consent_changes": len(ledger.entries),
            "access_log": len(lines),
        },
    }
    return part, lines


async def _org_name(repos: Repositories, slug: str) -> str:
    found = await repos.organisations.get(slug)
    return slug if found is None else found.name


def _consents(ledger: ConsentLedger) -> dict[str, Any]:
    return {
        "current": [
            {"organisation": org, "purposes": sorted(p.value for p in purposes)}
            for org, purposes in ledger.current().items()
        ],
        "history": [
            {
                "organisation": e.organisation,
                "purpose": e.purpose.value,
                "action": e.action.value,
                "at": e.at.isoformat(),
                "by": "resident" if e.by == ledger.person_id else e.by,
                "version": i,
            }
            for i, e in _versions(ledger)
        ],
    }


def _versions(ledger: ConsentLedger) -> list[tuple[int, Any]]:
    seen: dict[tuple[str, str], int] = {}
    out = []
    for entry in ledger.entries:
        key = (entry.organisation, entry.purpose.value)
        seen[key] = seen.get(key, 0) + 1
        out.append((seen[key], entry))
    return out


def _line(line: AccessLine) -> dict[str, Any]:
    r = line.record
    return {
        "at": r.at.isoformat(),
        "service": r.service,
        "who": line.who.nl,
        "who_en": line.who.en,
        "organisation": r.on_behalf_of,
        "organisation_name": line.organisation_name,
        "what": line.what.nl,
        "what_en": line.what.en,
        "why": line.why.nl,
        "why_en": line.why.en,
        "action": r.action,
        "resource": r.resource,
        "reason": r.reason,
    }


def _summary(
    job: ExportJob, parts: dict[str, dict[str, Any]], lines: list[AccessLine], now: datetime
) -> archive.Summary:
    own = parts["identity"]
    profile = own["profile"]
    requested = (
        (
            "Een beheerder maakte deze kopie op uw schriftelijke verzoek.",
            "An administrator made this copy at your written request.",
        )
        if job.by_admin
        else ("U vroeg zelf om deze kopie.", "You asked for this copy yourself.")
    )

    def same(value: object) -> tuple[str, str]:
        text = "" if value is None else str(value)
        return (text, text)

    profile_rows = tuple(
        archive.SummaryRow((label, same(profile.get(key))))
        for label, key in (
            (("Naam", "Name"), "display_name"),
            (("E-mailadres", "E-mail address"), "email"),
            (("Postcode (4 cijfers)", "Postcode (4 digits)"), "pc4"),
            (("Wijk", "Neighbourhood"), "neighbourhood_code"),
            (("Geboortejaar", "Year of birth"), "birth_year"),
            (("Huishouden", "Household"), "household_type"),
        )
    )
    membership_rows = tuple(
        archive.SummaryRow(
            (
                same(m["organisation_name"]),
                (
                    ", ".join(words.ROLE_LABELS[Role(r)].nl for r in m["roles"]),
                    ", ".join(words.ROLE_LABELS[Role(r)].en for r in m["roles"]),
                ),
            )
        )
        for m in own["memberships"]
    )
    consent_rows = tuple(
        archive.SummaryRow(
            (
                same(h["at"][:10]),
                same(h["organisation"]),
                (words.purpose_label(h["purpose"]).nl, words.purpose_label(h["purpose"]).en),
                ("gegeven", "given") if h["action"] == "granted" else ("ingetrokken", "withdrawn"),
            )
        )
        for h in own["consents"]["history"]
    )
    log_rows = tuple(
        archive.SummaryRow(
            (
                same(line.record.at.strftime("%Y-%m-%d %H:%M")),
                (line.who.nl, line.who.en),
                same(line.organisation_name or line.record.on_behalf_of or "-"),
                (line.what.nl, line.what.en),
                (line.why.nl, line.why.en),
            )
        )
        for line in lines
    )
    service_rows = tuple(
        archive.SummaryRow(
            (
                (words.service_label(service).nl, words.service_label(service).en),
                same(", ".join(f"{k}: {v}" for k, v in sorted(part.get("counts", {}).items()))),
            )
        )
        for service, part in sorted(parts.items())
    )
    files: list[tuple[str, tuple[str, str]]] = [
        (archive.SUMMARY, ("deze samenvatting", "this summary"))
    ]
    files += [
        (
            archive.part_file(service),
            (
                f"uw gegevens bij {words.service_label(service).nl}",
                f"your data in {words.service_label(service).en}",
            ),
        )
        for service in sorted(parts)
    ]
    if archive.fhir_bundle(parts.get("questionnaires", {})) is not None:
        files.append(
            (
                archive.FHIR_FILE,
                (
                    "uw ingevulde vragenlijsten in FHIR, een standaard voor de zorg",
                    "your completed questionnaires in FHIR, a healthcare standard",
                ),
            )
        )
    return archive.Summary(
        created_at=now,
        requested=requested,
        sections=(
            archive.SummarySection(
                title=("Uw account", "Your account"),
                headers=(("Gegeven", "Item"), ("Waarde", "Value")),
                rows=profile_rows,
            ),
            archive.SummarySection(
                title=("Organisaties", "Organisations"),
                headers=(("Organisatie", "Organisation"), ("Uw rol", "Your role")),
                rows=membership_rows,
            ),
            archive.SummarySection(
                title=("Toestemmingen", "Consents"),
                intro=(
                    "Wanneer u toestemming gaf of introk, aan welke organisatie, waarvoor.",
                    "When you gave or withdrew consent, to which organisation, for what.",
                ),
                headers=(
                    ("Datum", "Date"),
                    ("Organisatie", "Organisation"),
                    ("Waarvoor", "For"),
                    ("Wat", "What"),
                ),
                rows=consent_rows,
                empty=("U gaf nog geen toestemming.", "You have not given consent."),
            ),
            archive.SummarySection(
                title=("Wie keek naar uw gegevens", "Who looked at your data"),
                headers=(
                    ("Wanneer", "When"),
                    ("Wie", "Who"),
                    ("Voor organisatie", "For organisation"),
                    ("Wat", "What"),
                    ("Waarom", "Why"),
                ),
                rows=log_rows,
                empty=("Niemand keek naar uw gegevens.", "Nobody looked at your data."),
            ),
            archive.SummarySection(
                title=("Wat staat waar", "What is where"),
                intro=(
                    "Hoeveel gegevens elk onderdeel van Wijkkracht over u heeft.",
                    "How much data each part of Wijkkracht holds about you.",
                ),
                headers=(("Onderdeel", "Part"), ("Aantallen", "Counts")),
                rows=service_rows,
            ),
        ),
        files=tuple(files),
    )
