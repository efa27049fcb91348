"""`wk demo seed`: the demo tenant's learning content (idempotent; dev mode only).

Five modules on the seeds' themes (stress, post and papers, budget, young carers, making
contact) and one long path "Grip op je geld" of seven steps whose entry points follow the
phases of behaviour change, with placement rules on the effect monitor's `household_budget`
phase (not aware → step 1, aware → step 3, seeking → 4, acting → 5, maintaining → 7). All
written through the normal authoring use cases, owned by identity's demo organisation
`welzijn-demo` and shared with the tenant. A second run changes nothing.
"""

from __future__ import annotations

from wijkkracht_common.auth import Principal
from wijkkracht_common.runtime import ServiceRuntime

from learning_paths.adapters.repositories import INDEXES
from learning_paths.demo import source
from learning_paths.domain.content import Content, ContentKind, Variant
from learning_paths.domain.placement import PlacementRule
from learning_paths.service import content, placement
from learning_paths.service.context import Context
from learning_paths.settings import Settings

ORGANISATION = "welzijn-demo"
ACTOR = "demo-seed"
#: slug → (kind, variants), in the order they must exist (the path names two modules).
CONTENT: tuple[tuple[str, ContentKind, tuple[Variant, ...]], ...] = (
    ("ontspannen", "module", ("nl", "en")),
    ("post-en-papieren", "module", ("nl",)),
    ("rondkomen", "module", ("nl", "nl-simple")),
    ("jong-en-zorgen", "module", ("nl",)),
    ("contact-maken", "module", ("nl",)),
    ("grip-op-geld", "path", ("nl",)),
)
#: effect monitor phase range → entry point of "Grip op je geld".
PHASE_ENTRIES = ((1, 1, "niet-bewust"), (2, 2, "bewust"), (3, 3, "zoekend"), (4, 4, "in-actie"))
PHASE_ENTRIES_LAST = (5, 5, "volhouden")


def seeder(tenant: str) -> Principal:
    return Principal(
        subject=ACTOR,
        tenant=tenant,
        roles=frozenset({"content_editor", "tenant_admin"}),
        orgs={ORGANISATION: frozenset({"content_editor", "tenant_admin"})},
    )


async def _ensure(
    ctx: Context, who: Principal, slug: str, kind: ContentKind, variants: tuple[Variant, ...]
) -> tuple[Content, bool]:
    reader = await ctx.reader(who.tenant)
    existing = await reader.content_by_slug(ORGANISATION, slug)
    if existing is not None and existing.is_published:
        return existing, False
    if existing is None:
        made = await content.create(
            ctx,
            who,
            kind=kind,
            organisation=ORGANISATION,
            slug=slug,
            scope="tenant",
            sources={v: source(f"{slug}.{v}") for v in variants},
        )
        existing = made.content
    published = await content.publish(ctx, who, existing.id)
    return published.content, True


async def seed_tenant(ctx: Context, tenant: str) -> str:
    who = seeder(tenant)
    made: dict[str, Content] = {}
    created = 0
    for slug, kind, variants in CONTENT:
        made[slug], new = await _ensure(ctx, who, slug, kind, variants)
        created += int(new)
    reader = await ctx.reader(tenant)
    if not await reader.rules():
        path_id = made["grip-op-geld"].id
        await placement.replace_rules(
            ctx,
            who,
            [
                PlacementRule(
                    id=f"geld-fase-{low}",
                    family="effect-monitor",
                    theme="household_budget",
                    phase_min=low,
                    phase_max=high,
                    path_id=path_id,
                    entry_point=entry,
                )
                for low, high, entry in (*PHASE_ENTRIES, PHASE_ENTRIES_LAST)
            ],
        )
    return (
        f"{len(CONTENT) - 1} modules and 1 path ({created} new), placement rules for "
        "'Grip op je geld'"
    )


async def seed() -> str:
    settings = Settings()
    runtime = ServiceRuntime(settings, indexes=INDEXES, run_relay=False)
    try:
        return await seed_tenant(Context(runtime, settings), settings.demo_tenant)
    finally:
        runtime.storage.close()
