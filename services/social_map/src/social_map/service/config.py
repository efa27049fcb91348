"""Tenant configuration: the category tree (with dimension mapping) and the freshness policy.

A taxonomy change changes the analyzer (category words feed the lexicon), so every entry's
search projection is re-tokenised in the same transaction (search indexes rebuild on the new
analyzer version); a category still in use cannot be
removed (409 naming it).

Other services keep the tree as a projection of `taxonomy_changed` (the whole tree, public
vocabulary): staged with every change, and by an import or the demo seed when the current
version was never announced (so a tenant on the default tree is announced when its map is
first filled); `republish_taxonomy` publishes it again on request.
"""

from __future__ import annotations

from typing import Any

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict
from wijkkracht_common.events.envelope import Envelope, new_event
from wijkkracht_common.events.social_map import TaxonomyChanged, TaxonomyTermFacts
from wijkkracht_common.storage import Session

from social_map.adapters import repositories as repo
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.taxonomy import Category, Taxonomy
from social_map.domain.text_analysis import Analyzer
from social_map.service import permissions
from social_map.service.context import ServiceContext


async def replace_taxonomy(
    ctx: ServiceContext, principal: Principal, categories: list[Category]
) -> tuple[Taxonomy, int]:
    permissions.require_curator(principal)
    taxonomy = Taxonomy.build(categories)
    reader = await ctx.reader(principal.tenant)
    used = await reader.used_category_codes()
    gone = sorted(c for c in used if c not in taxonomy)
    if gone:
        raise Conflict(
            "Deze categorieën zijn nog in gebruik. / These categories are still in use.",
            kind="category-in-use",
            categories=gone,
        )
    analyzer = Analyzer.for_taxonomy(taxonomy)
    _, old_version = await reader.load_taxonomy()
    version = old_version + 1

    async def work(db: repo.Db, session: Session) -> tuple[int, list[Any]]:
        r = ctx.repo(db, session)
        await r.save_taxonomy(taxonomy, version)
        await r.retokenise_entries(analyzer, taxonomy)
        await r.save_taxonomy_announced(version)
        return version, [taxonomy_event(principal.tenant, taxonomy, version, principal.subject)]

    await ctx.commit(principal.tenant, work)
    return taxonomy, version


def taxonomy_event(
    tenant: str, taxonomy: Taxonomy, version: int, actor: str
) -> Envelope[TaxonomyChanged]:
    terms = [
        TaxonomyTermFacts(
            code=c.code,
            parent_code=c.parent,
            labels={"nl": c.label_nl, "en": c.label_en},
            dimensions=[d.value for d in c.dimensions],
        )
        for c in taxonomy.categories
    ]
    return new_event(
        TaxonomyChanged(version=version, terms=terms),
        tenant=tenant,
        subject="taxonomy",
        actor=actor,
    )


async def announce_taxonomy(ctx: ServiceContext, tenant: str, actor: str, *, force: bool) -> bool:
    """Publish the current tree (`force`), or only when its version was never announced;
    True when an event was staged. Reads and marks in one transaction."""

    async def work(db: repo.Db, session: Session) -> tuple[bool, list[Any]]:
        r = ctx.repo(db, session)
        taxonomy, version = await r.load_taxonomy()
        if not force and await r.taxonomy_announced() == version:
            return False, []
        await r.save_taxonomy_announced(version)
        return True, [taxonomy_event(tenant, taxonomy, version, actor)]

    announced: bool = await ctx.commit(tenant, work)
    return announced


async def republish_taxonomy(ctx: ServiceContext, principal: Principal) -> None:
    """A curator publishes the tree again (e.g. for a new consumer catching up)."""
    permissions.require_curator(principal)
    await announce_taxonomy(ctx, principal.tenant, principal.subject, force=True)


async def replace_policy(
    ctx: ServiceContext, principal: Principal, policy: FreshnessPolicy
) -> FreshnessPolicy:
    permissions.require_curator(principal)

    async def work(db: repo.Db, session: Session) -> tuple[None, list[Any]]:
        r = ctx.repo(db, session)
        await r.save_policy(policy)
        # next checks follow the new thresholds: let the sweep look at everything once
        await r.recheck_all_entries(ctx.now())
        return None, []

    # `ctx.commit`: this process's cached view goes at once; other replicas see the new
    # version where it matters (`ServiceContext.with_current_policy`)
    await ctx.commit(principal.tenant, work)
    return policy


async def current_policy(ctx: ServiceContext, principal: Principal) -> FreshnessPolicy:
    """The tenant's policy as stored now (also when another replica just changed it)."""
    return (await ctx.current_view(principal.tenant)).policy
