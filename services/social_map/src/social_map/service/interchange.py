"""HSDS 3.0 import and export for a tenant.

Import = parse and validate EVERYTHING first (pure domain, all-or-nothing: a bad file
imports nothing and the caller gets the line-level report; only unusable coordinates are
dropped with a warning unless `strict`, see `hsds_interchange`), then write in batches of
`BATCH` entries with insert_many, each batch in one transaction with its events. Entries
that exist are replaced (revision + 1, open reports kept), unchanged ones are skipped, so a
re-import is idempotent (an import of the date of the last check keeps its stored time, see
`keep_stored_assurance`). The organisation's identity slug (`tenant_org_slug`) is not part of
HSDS: an existing owner record keeps its slug.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wijkkracht_common.errors import InvalidInput
from wijkkracht_common.events.envelope import Envelope, new_event, new_event_id
from wijkkracht_common.events.social_map import EntriesImported, ImportedEntryFacts
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.adapters.documents import ExistingEntry, ImportedEntry, open_reporters, pc4s_of
from social_map.bulk import gc_paused
from social_map.domain.freshness import FreshnessPolicy, freshness_state
from social_map.domain.hsds_interchange import (
    ImportIssue,
    ImportResult,
    export_csv,
    export_json,
    import_csv,
    import_json,
    keep_stored_assurance,
)
from social_map.domain.model import Entry, Organization, SocialMapData
from social_map.service import config
from social_map.service.context import SERVICE, ServiceContext, TenantView
from social_map.standards import hsds as hsds_standard
from social_map.standards.hsds import DESCRIPTOR

BATCH = 1000
MAX_ISSUES = 500
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    organisations: int
    created: int
    updated: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {
            "organisations": self.organisations,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def parse_package(
    raw: bytes, media: str, tenant: str, view: TenantView, *, strict: bool = False
) -> ImportResult:
    """JSON (a list of HSDS services) or a zip of the CSV tabular package."""
    with gc_paused():
        return _parse_package(raw, media, tenant, view, strict)


def _parse_package(
    raw: bytes, media: str, tenant: str, view: TenantView, strict: bool
) -> ImportResult:
    if media == "zip" or raw[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                files = {
                    name.rsplit("/", 1)[-1]: archive.read(name).decode("utf-8-sig")
                    for name in archive.namelist()
                    if name.endswith(".csv")
                }
        except (zipfile.BadZipFile, UnicodeDecodeError, ValueError) as error:
            return ImportResult(None, [ImportIssue("package.zip", 0, "", f"unreadable: {error}")])
        return import_csv(files, tenant=tenant, taxonomy=view.taxonomy, strict=strict)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ImportResult(None, [ImportIssue("services.json", 0, "", "not UTF-8 text")])
    return import_json(text, tenant=tenant, taxonomy=view.taxonomy, strict=strict)


def report_problem(result: ImportResult) -> InvalidInput:
    issues = result.issues[:MAX_ISSUES]
    return InvalidInput(
        f"Het bestand bevat {len(result.issues)} fout(en); er is niets geïmporteerd. / The "
        f"file has {len(result.issues)} error(s); nothing was imported.",
        kind="import-rejected",
        errors=[
            {
                "field": i.field or "file",
                "code": "invalid",
                "message": i.message,
                "file": i.file,
                "line": i.line,
            }
            for i in issues
        ],
        issue_count=len(result.issues),
    )


def import_report(summary: ImportSummary, result: ImportResult) -> dict[str, Any]:
    """The counts and a warning per value the import dropped (same form as errors)."""
    return {
        **summary.as_dict(),
        "warnings": [
            {
                "field": w.field or "file",
                "code": "dropped",
                "message": w.message,
                "file": w.file,
                "line": w.line,
            }
            for w in result.warnings[:MAX_ISSUES]
        ],
        "warning_count": len(result.warnings),
    }


_NOT_IMPORTED = {"outdated_reports": [], "revision": 0}


def _same_content(stored: Entry, imported: Entry) -> bool:
    """Equal as values (an amount of 2.5 is 2.50, an instant is one in any zone), apart from
    what an import never carries (reports, revision)."""
    return stored.model_copy(update=_NOT_IMPORTED) == imported.model_copy(update=_NOT_IMPORTED)


async def write_import(
    ctx: ServiceContext,
    tenant: str,
    data: SocialMapData,
    *,
    actor: str,
    progress: Progress | None = None,
) -> ImportSummary:
    now = ctx.now()
    # the categories the entries use reach other services first (once per tree version)
    await config.announce_taxonomy(ctx, tenant, actor, force=False)
    reader = await ctx.reader(tenant)
    view = await ctx.view(tenant)
    known = await reader.organisations(o.id for o in data.organizations)
    owners: dict[str, str | None] = {}
    for org in data.organizations:
        old = known.get(org.id)
        merged = org.model_copy(update={"tenant_org_slug": old.tenant_org_slug if old else None})
        owners[org.id] = merged.tenant_org_slug
        if old != merged:
            await reader.save_organisation(merged)
    missing = {e.organization_id for e in data.entries} - set(owners)
    for org_id, org in (await reader.organisations(missing)).items():
        owners[org_id] = org.tenant_org_slug
    created = updated = unchanged = 0
    total = len(data.entries)
    import_id = new_event_id()
    for start in range(0, total, BATCH):
        batch = data.entries[start : start + BATCH]
        counts = await _write_batch(
            ctx, tenant, view, batch, owners, actor, now, (import_id, start // BATCH)
        )
        created, updated, unchanged = (
            created + counts[0],
            updated + counts[1],
            unchanged + counts[2],
        )
        if progress is not None:
            progress(min(start + BATCH, total), total)
    return ImportSummary(len(data.organizations), created, updated, unchanged)


async def _write_batch(
    ctx: ServiceContext,
    tenant: str,
    view: TenantView,
    batch: list[Entry],
    owners: dict[str, str | None],
    actor: str,
    now: Any,
    batch_id: tuple[str, int],
) -> tuple[int, int, int]:
    async def work(db: repo.Db, session: Session) -> tuple[tuple[int, int, int], list[Any]]:
        r = ctx.repo(db, session)
        existing = await r.existing_entries([e.id for e in batch])
        with gc_paused():  # synchronous: compares up to a batch of entries
            writes, replaced, unchanged = _prepare(batch, existing, owners)
        current = await ctx.with_current_policy(r, view)
        await r.write_imported(writes, replaced=replaced, view=current, now=now)
        new = len(writes) - len(replaced)
        changed = set(replaced)
        events: list[Envelope[Any]] = []
        if writes:  # one event per batch, not per entry (see EntriesImported)
            new_ones = [w for w in writes if w.entry.id not in changed]
            replaced_ones = [w for w in writes if w.entry.id in changed]
            events.append(
                new_event(
                    EntriesImported(
                        import_id=batch_id[0],
                        batch=batch_id[1],
                        published=[w.entry.id for w in new_ones],
                        updated=[w.entry.id for w in replaced_ones],
                        entries=[
                            _facts(w, current.policy, now) for w in (*new_ones, *replaced_ones)
                        ],
                    ),
                    tenant=tenant,
                    subject=f"{batch_id[0]}:{batch_id[1]}",
                    actor=actor,
                )
            )
        return (new, len(replaced), unchanged), events

    return await ctx.commit(tenant, work)


def _facts(item: ImportedEntry, policy: FreshnessPolicy, now: datetime) -> ImportedEntryFacts:
    """What consumers need of an imported entry: ids and codes, no free text."""
    entry = item.entry
    return ImportedEntryFacts(
        entry_id=entry.id,
        organization_id=entry.organization_id,
        owner_organisation=item.owner_slug,
        kind=entry.kind.value,
        category_codes=list(entry.category_codes),
        pc4s=pc4s_of(entry),
        status=entry.status.value,
        freshness=freshness_state(entry.assured_at, open_reporters(entry), policy, now).value,
        revision=entry.revision,
    )


def _prepare(
    batch: list[Entry], existing: dict[str, ExistingEntry], owners: dict[str, str | None]
) -> tuple[list[ImportedEntry], list[str], int]:
    """What an import batch writes: new entries, changed ones (revision + 1, open reports
    kept; their ids also in `replaced`), and how many were unchanged (skipped)."""
    writes: list[ImportedEntry] = []
    replaced: list[str] = []
    unchanged = 0
    for entry in batch:
        old = existing.get(entry.id)
        version = 1
        if old is not None:
            previous = old.entry
            entry = keep_stored_assurance(previous, entry)
            if _same_content(previous, entry):
                unchanged += 1
                continue
            entry = entry.model_copy(
                update={
                    "outdated_reports": previous.outdated_reports,
                    "revision": previous.revision + 1,
                }
            )
            version = old.version + 1
            replaced.append(entry.id)
        writes.append(ImportedEntry(entry, owners.get(entry.organization_id), version))
    return writes, replaced, unchanged


async def tenant_data(ctx: ServiceContext, tenant: str) -> tuple[SocialMapData, TenantView]:
    reader = await ctx.reader(tenant)
    view = await ctx.view(tenant)
    entries = [s.entry for s in await reader.all_entries()]
    orgs = await reader.organisations({e.organization_id for e in entries})
    all_orgs = await reader.organisations()
    organisations: Iterable[Organization] = sorted(
        {**all_orgs, **orgs}.values(), key=lambda o: o.id
    )
    return SocialMapData(organizations=list(organisations), entries=entries), view


async def export(ctx: ServiceContext, tenant: str, fmt: str) -> bytes:
    data, view = await tenant_data(ctx, tenant)
    if fmt == "json":
        return export_json(data, view.taxonomy).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DESCRIPTOR, hsds_standard.datapackage_descriptor())
        for name, text in sorted(export_csv(data, view.taxonomy).items()):
            archive.writestr(name, text)
    return buffer.getvalue()


IMPORT_ACTOR = f"system:{SERVICE}:import"
