"""Authoring and the catalogue: create a module or path, edit a variant of its draft in
Markdown, preview it, publish it; read the catalogue.

A content item's latest version is its draft until published; editing a published item
opens a new draft (a copy of the published version), so enrolled residents keep theirs.
A path's modules are resolved at every save of the draft and pinned again at publishing:
the published path carries their steps as they were then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.outbox import Staged
from wijkkracht_common.texts import Text

from learning_paths.adapters.repositories import Repository
from learning_paths.domain import access
from learning_paths.domain.authoring import ParsedSource, check_same_steps, parse_source
from learning_paths.domain.content import (
    VARIANTS,
    Content,
    ContentKind,
    ContentVersion,
    PathItem,
    Scope,
    Step,
    Variant,
    VariantContent,
)
from learning_paths.domain.errors import InvalidContent, Issue
from learning_paths.service import problems
from learning_paths.service.context import Context


@dataclass(frozen=True)
class Draft:
    content: Content
    version: ContentVersion


def require_editor(principal: Principal, organisation: str | None = None) -> None:
    """403 unless a content editor of the organisation (None: of any organisation)."""
    if organisation is None:
        allowed = access.is_editor(principal)
    else:
        allowed = access.EDITOR in principal.roles_in(organisation)
    if not allowed:
        raise problems.forbidden(
            Text(
                "Alleen inhoudsredacteuren van deze organisatie schrijven modules.",
                "Only content editors of this organisation write modules.",
            ),
            roles=[access.EDITOR],
        )


async def load_readable(
    repo: Repository, principal: Principal, content_id: str, kind: ContentKind | None = None
) -> Content:
    content = await repo.content(content_id)
    if (
        content is None
        or (kind and content.kind != kind)
        or not access.may_read(principal, content)
    ):
        raise problems.module_not_found()
    return content


async def load_editable(repo: Repository, principal: Principal, content_id: str) -> Content:
    content = await repo.content(content_id)
    if content is None or not access.may_read(principal, content):
        raise problems.module_not_found()
    require_editor(principal, content.organisation)
    return content


async def resolve_path_steps(
    repo: Repository, organisation: str, items: tuple[PathItem, ...], variant: str
) -> tuple[Step, ...]:
    """A path's steps: its own steps as they are, its modules' steps copied in from their
    published version (ids `<module>.<step>`). A module is found in the path's organisation
    first, then among modules shared with the tenant."""
    steps: list[Step] = []
    issues: list[Issue] = []
    used: set[str] = set()
    for n, item in enumerate(items):
        if item.step is not None:
            steps.append(item.step)
            continue
        assert item.module_slug is not None
        if item.module_slug in used:
            issues.append(
                Issue(
                    f"steps[{n}].module",
                    "duplicate_module",
                    Text(
                        f"De module '{item.module_slug}' staat al in deze leerlijn.",
                        f"The module '{item.module_slug}' is already in this path.",
                    ),
                )
            )
            continue
        used.add(item.module_slug)
        module = await repo.content_by_slug(organisation, item.module_slug)
        if module is None or not module.is_published or module.kind != "module":
            shared = await repo.published_by_slug(item.module_slug, ["tenant"])
            module = next((m for m in shared if m.kind == "module"), None)
        version = (
            await repo.version(module.id, module.published_version)
            if module is not None and module.published_version is not None
            else None
        )
        if module is None or version is None:
            issues.append(
                Issue(
                    f"steps[{n}].module",
                    "unknown_module",
                    Text(
                        f"Geen gepubliceerde module '{item.module_slug}' gevonden.",
                        f"No published module '{item.module_slug}' found.",
                    ),
                )
            )
            continue
        for step in version.variant(variant).steps:
            steps.append(
                step.model_copy(
                    update={
                        "id": f"{item.module_slug}.{step.id}",
                        "item": item.position,
                        "module_id": module.id,
                        "module_version": version.version,
                    }
                )
            )
    if issues:
        raise InvalidContent(issues)
    return tuple(steps)


async def _variant_content(
    repo: Repository,
    kind: ContentKind,
    organisation: str,
    variant: Variant,
    source: str,
    parsed: ParsedSource,
) -> VariantContent:
    steps = (
        await resolve_path_steps(repo, organisation, parsed.items, variant)
        if kind == "path"
        else parsed.steps
    )
    return VariantContent(
        variant=variant,
        title=parsed.title,
        summary=parsed.summary,
        steps=steps,
        source=source,
        items=parsed.items,
    )


def _with_header(content: Content, version: ContentVersion, parsed: ParsedSource | None) -> Content:
    nl = version.variants.get("nl")
    update: dict[str, Any] = {
        "variants": tuple(v for v in VARIANTS if v in version.variants),
        "latest_version": max(content.latest_version, version.version),
    }
    if nl is not None:
        update["title"] = nl.title
        update["step_count"] = len(nl.steps)
    if parsed is not None:
        update["theme"] = parsed.theme
        update["dimensions"] = parsed.dimensions
    return content.model_copy(update=update)


async def create(
    ctx: Context,
    principal: Principal,
    *,
    kind: ContentKind,
    organisation: str,
    slug: str,
    scope: Scope,
    sources: Mapping[Variant, str],
) -> Draft:
    """A new module or path with its first draft (the `nl` variant at least)."""
    require_editor(principal, organisation)
    if "nl" not in sources:
        raise InvalidContent.single(
            "sources.nl",
            "required",
            Text("De Nederlandse variant (nl) is nodig.", "The Dutch variant (nl) is required."),
        )
    parsed = _parse_all(sources, kind)
    now = ctx.now()
    content_id = new_event_id()

    async def work(repo: Repository) -> tuple[Draft, list[Staged]]:
        if await repo.content_by_slug(organisation, slug) is not None:
            raise problems.conflict(
                Text(
                    f"Deze organisatie heeft al een module met code '{slug}'.",
                    f"This organisation already has a module with code '{slug}'.",
                ),
                "slug-taken",
            )
        variants = {
            v: await _variant_content(repo, kind, organisation, v, sources[v], parsed[v])
            for v in parsed
        }
        check_same_steps({v: c.steps for v, c in variants.items()})
        version = ContentVersion(
            content_id=content_id,
            version=1,
            status="draft",
            variants=variants,
            entry_points=parsed["nl"].entry_points,
            created_at=now,
            created_by=principal.subject,
        )
        content = _with_header(
            Content(
                id=content_id,
                kind=kind,
                slug=slug,
                organisation=organisation,
                scope=scope,
                title=parsed["nl"].title,
                latest_version=1,
                created_at=now,
                updated_at=now,
            ),
            version,
            parsed["nl"],
        )
        await repo.save_version(version)
        await repo.save_content(content)
        return Draft(content, version), []

    return await ctx.commit(principal.tenant, work)


def _parse_all(sources: Mapping[Variant, str], kind: ContentKind) -> dict[Variant, ParsedSource]:
    parsed: dict[Variant, ParsedSource] = {}
    issues: list[Issue] = []
    for variant, source in sources.items():
        try:
            parsed[variant] = parse_source(source, kind)
        except InvalidContent as error:
            issues.extend(
                Issue(f"sources.{variant}.{i.path}", i.code, i.message, i.line)
                for i in error.issues
            )
    if issues:
        raise InvalidContent(issues)
    return parsed


async def _draft_of(repo: Repository, content: Content, principal: Principal) -> ContentVersion:
    """The draft to edit: the latest version if unpublished, else a new copy of it."""
    latest = await repo.version(content.id, content.latest_version)
    assert latest is not None
    if latest.status == "draft":
        return latest
    return latest.model_copy(
        update={
            "version": latest.version + 1,
            "status": "draft",
            "created_by": principal.subject,
            "published_at": None,
        }
    )


async def put_variant(
    ctx: Context, principal: Principal, content_id: str, variant: Variant, source: str
) -> Draft:
    """Write one variant of the draft (a new draft is opened when the latest is published)."""
    now = ctx.now()
    reader = await ctx.reader(principal.tenant)
    kind = (await load_editable(reader, principal, content_id)).kind
    parsed = _parse_all({variant: source}, kind)[variant]

    async def work(repo: Repository) -> tuple[Draft, list[Staged]]:
        content = await load_editable(repo, principal, content_id)
        draft = await _draft_of(repo, content, principal)
        made = await _variant_content(repo, kind, content.organisation, variant, source, parsed)
        variants = {**draft.variants, variant: made}
        check_same_steps({v: c.steps for v, c in variants.items()})
        draft = draft.model_copy(update={"variants": variants, "created_at": now})
        if variant == "nl":
            draft = draft.model_copy(update={"entry_points": parsed.entry_points})
        updated = _with_header(content, draft, parsed if variant == "nl" else None)
        updated = updated.model_copy(update={"updated_at": now})
        await repo.save_version(draft)
        await repo.save_content(updated)
        return Draft(updated, draft), []

    return await ctx.commit(principal.tenant, work)


async def change_scope(
    ctx: Context, principal: Principal, content_id: str, scope: Scope
) -> Content:
    async def work(repo: Repository) -> tuple[Content, list[Staged]]:
        content = await load_editable(repo, principal, content_id)
        updated = content.model_copy(update={"scope": scope, "updated_at": ctx.now()})
        await repo.save_content(updated)
        return updated, []

    return await ctx.commit(principal.tenant, work)


async def publish(ctx: Context, principal: Principal, content_id: str) -> Draft:
    """Publish the draft: the Dutch variant is required, all variants have the same steps,
    a path's modules are pinned to their published versions now."""
    now = ctx.now()

    async def work(repo: Repository) -> tuple[Draft, list[Staged]]:
        content = await load_editable(repo, principal, content_id)
        draft = await repo.version(content.id, content.latest_version)
        assert draft is not None
        if draft.status == "published":
            raise problems.conflict(
                Text(
                    "Er is geen concept om te publiceren.",
                    "There is no draft to publish.",
                ),
                "nothing-to-publish",
            )
        variants = dict(draft.variants)
        if content.kind == "path":
            for name, made in draft.variants.items():
                steps = await resolve_path_steps(repo, content.organisation, made.items, name)
                variants[name] = made.model_copy(update={"steps": steps})
        check_same_steps({v: c.steps for v, c in variants.items()})
        published = draft.model_copy(
            update={"variants": variants, "status": "published", "published_at": now}
        )
        updated = _with_header(content, published, None).model_copy(
            update={"published_version": published.version, "updated_at": now}
        )
        await repo.save_version(published)
        await repo.save_content(updated)
        return Draft(updated, published), []

    return await ctx.commit(principal.tenant, work)


async def read(
    ctx: Context, principal: Principal, content_id: str, kind: ContentKind | None = None
) -> Content:
    return await load_readable(await ctx.reader(principal.tenant), principal, content_id, kind)


async def read_version(
    ctx: Context,
    principal: Principal,
    content_id: str,
    version: int | None = None,
    kind: ContentKind | None = None,
) -> tuple[Content, ContentVersion]:
    """A version: the published one by default; drafts and older versions for editors only
    (residents read the version they are enrolled on through their enrolment)."""
    repo = await ctx.reader(principal.tenant)
    content = await load_readable(repo, principal, content_id, kind)
    editor = access.may_edit(principal, content)
    wanted = version or (content.published_version if not editor else content.latest_version)
    if wanted is None or (not editor and wanted != content.published_version):
        raise problems.module_not_found()
    found = await repo.version(content.id, wanted)
    if found is None:
        raise problems.module_not_found()
    return content, found


async def catalogue(
    ctx: Context,
    principal: Principal,
    kind: ContentKind,
    *,
    theme: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Content], str | None]:
    repo = await ctx.reader(principal.tenant)
    return await repo.catalogue(
        kind,
        visible_to=access.visibility_keys(principal),
        editor_of=access.editor_organisations(principal),
        theme=theme,
        limit=limit,
        cursor=cursor,
    )
