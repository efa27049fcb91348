"""Content packages: a module as a cmi5 course structure (`cmi5.xml`) plus its Markdown
(`content/<variant>.md`), zipped. Export writes the published version (editors: the
latest); import checks everything first — the zip, cmi5.xml against the CourseStructure
schema, the Markdown — and imports nothing when anything is wrong (422 with the path of
each error). A package from elsewhere (cmi5.xml without our Markdown) becomes a module with
one text step per assignable unit, linking to the unit."""

from __future__ import annotations

import io
import re
import zipfile

from wijkkracht_common.auth import Principal
from wijkkracht_common.texts import Text

from learning_paths.domain import cmi5
from learning_paths.domain.authoring import render_source
from learning_paths.domain.content import VARIANTS, ContentVersion, Scope, Step, Variant
from learning_paths.domain.errors import InvalidContent, Issue
from learning_paths.service import content as content_service
from learning_paths.service.context import Context

MAX_PACKAGE_BYTES = 50 * 1024 * 1024
MAX_MEMBER_BYTES = 20 * 1024 * 1024
#: cmi5 langstrings: our variants as language tags (`nl-simple` is private use).
LANGUAGES: dict[str, str] = {"nl": "nl", "nl-simple": "nl-x-simple", "en": "en"}


def _base(ctx: Context) -> str:
    return ctx.settings.public_url.rstrip("/")


def structure_of(ctx: Context, version: ContentVersion) -> cmi5.CourseStructure:
    base = f"{_base(ctx)}/modules/{version.content_id}"
    titles = {LANGUAGES[v]: c.title for v, c in version.variants.items() if v in LANGUAGES}
    summaries = {
        LANGUAGES[v]: c.summary or c.title for v, c in version.variants.items() if v in LANGUAGES
    }
    units = []
    for step in version.steps:
        names = {}
        for variant, made in version.variants.items():
            found = made.step(step.id)
            if found is not None and variant in LANGUAGES:
                names[LANGUAGES[variant]] = found.title
        units.append(
            cmi5.Unit(
                id=f"{base}/steps/{step.id}",
                title=names,
                description=names,
                url=f"{base}/steps/{step.id}/print",
                move_on="CompletedAndPassed" if step.kind == "quiz" else "Completed",
                mastery_score=step.pass_score if step.kind == "quiz" and step.pass_score else None,
            )
        )
    return cmi5.CourseStructure(base, titles, summaries, units)


async def export(ctx: Context, principal: Principal, content_id: str) -> bytes:
    content_service.require_editor(principal)
    _content, version = await content_service.read_version(
        ctx, principal, content_id, None, "module"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cmi5.xml", cmi5.write(structure_of(ctx, version)))
        for variant, made in sorted(version.variants.items()):
            archive.writestr(f"content/{variant}.md", made.source)
    return buffer.getvalue()


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "stap"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate


def _pick(texts: dict[str, str]) -> str:
    for lang in ("nl", "nl-NL", "en", "en-US"):
        if texts.get(lang):
            return texts[lang]
    return next((t for t in texts.values() if t), "")


def source_from_structure(structure: cmi5.CourseStructure) -> str:
    """Markdown for a foreign package: one text step per unit, linking to it."""
    used: set[str] = set()
    steps = []
    for unit in structure.units:
        title = _pick(unit.title)[:200] or "Onderdeel"
        description = _pick(unit.description)
        section = " › ".join(b for b in unit.blocks if b)
        body = "\n\n".join(
            p
            for p in (f"*{section}*" if section else "", description, f"[Openen]({unit.url})")
            if p
        )
        tail = unit.id.rstrip("/").rsplit("/", 1)[-1]
        steps.append(Step(id=_slug(tail or title, used), kind="text", title=title, body=body))
    return render_source(
        title=_pick(structure.title)[:200] or "Geïmporteerde module",
        summary=_pick(structure.description)[:2000],
        theme=None,
        dimensions=(),
        steps=steps,
    )


def _read(package: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile:
        raise InvalidContent.single(
            "package",
            "not_zip",
            Text("Het pakket is geen zip-bestand.", "The package is not a zip file."),
        ) from None
    files: dict[str, bytes] = {}
    with archive:
        total = 0
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.file_size > MAX_MEMBER_BYTES or ".." in info.filename.split("/"):
                raise InvalidContent.single(
                    info.filename,
                    "refused",
                    Text("Dit bestand wordt niet gelezen.", "This file is not read."),
                )
            total += info.file_size
            if total > MAX_PACKAGE_BYTES * 4:
                raise InvalidContent.single(
                    "package",
                    "too_large",
                    Text("Het pakket is te groot.", "The package is too large."),
                )
            if info.filename == "cmi5.xml" or info.filename.startswith("content/"):
                files[info.filename] = archive.read(info)
    if "cmi5.xml" not in files:
        raise InvalidContent.single(
            "cmi5.xml",
            "required",
            Text("cmi5.xml ontbreekt in het pakket.", "cmi5.xml is missing."),
        )
    return files


async def import_package(
    ctx: Context,
    principal: Principal,
    *,
    organisation: str,
    slug: str,
    scope: Scope,
    package: bytes,
) -> content_service.Draft:
    content_service.require_editor(principal, organisation)  # before reading the package
    files = _read(package)
    structure = cmi5.parse(files["cmi5.xml"])
    sources: dict[Variant, str] = {}
    issues: list[Issue] = []
    for variant in VARIANTS:
        raw = files.get(f"content/{variant}.md")
        if raw is None:
            continue
        try:
            sources[variant] = raw.decode("utf-8")
        except UnicodeDecodeError:
            issues.append(
                Issue(f"content/{variant}.md", "not_utf8", Text("Geen UTF-8.", "Not UTF-8."))
            )
    if issues:
        raise InvalidContent(issues)
    if not sources:
        sources["nl"] = source_from_structure(structure)
    try:
        return await content_service.create(
            ctx,
            principal,
            kind="module",
            organisation=organisation,
            slug=slug,
            scope=scope,
            sources=sources,
        )
    except InvalidContent as error:
        raise InvalidContent(
            [
                Issue(
                    re.sub(r"^sources\.([a-z-]+)\.", r"content/\1.md: ", i.path),
                    i.code,
                    i.message,
                    i.line,
                )
                for i in error.issues
            ]
        ) from None
