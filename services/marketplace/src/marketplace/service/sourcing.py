"""Where candidates come from: the reads behind matching (`domain.matching`).

Candidates are read by category family (a top-level category with its branch): the
request's own family first, then the families sharing a questionnaire dimension with it. The
second tier is only read when its candidates could still enter the list: with `limit`
distinct candidates in hand that all score at least the best a 0.3 fit can reach, it is
skipped. So the result is the same as ranking everything, at a fraction of the reads.
"""

from __future__ import annotations

from wijkkracht_common.ranking import Ranked, best_possible

from marketplace.adapters.repositories import Repository
from marketplace.domain.categories import Categories
from marketplace.domain.groups import Group
from marketplace.domain.matching import (
    Candidate,
    Exclusions,
    MapEntry,
    Offer,
    candidates_for,
    nearby_volunteers,
)
from marketplace.domain.places import NeighbourhoodTable
from marketplace.domain.posts import Post
from marketplace.domain.visibility import Viewer, scope_allows
from marketplace.domain.volunteers import Helper

#: How many volunteers are told about a new request.
TELL_AT_MOST = 20


def tiers(request: Post, cats: Categories) -> list[tuple[float, list[str]]]:
    """Category families by how well they can fit the request, best first: [(best fit,
    families)]: the request's own branch (the category itself 1, the rest of the branch 0.6),
    then the branches sharing a questionnaire dimension with it (0.3)."""
    own = cats.family(request.category)
    fitting = [c for c in cats.codes if cats.fit(request.category, c) > 0]
    others = sorted({cats.family(c) for c in fitting} - {own})
    if not others:
        return [(1.0, [own])]
    # the best fit the second tier can reach (0.3 unless the tree is unusual)
    best = max(cats.fit(request.category, c) for c in fitting if cats.family(c) != own)
    return [(1.0, [own]), (best, others)]


async def _exclusions(r: Repository, request: Post, group: Group | None) -> Exclusions:
    owner = request.owner_id
    blocked = await r.blocked_either_way(owner) if owner else frozenset()
    if group is None or not group.needs_vog(request.category):
        return Exclusions(persons=blocked)
    day = request.created_at.date()
    valid = set()
    for member in await r.members(group.id):
        certificates = await r.certificates_of(member.person_id)
        if any(c.valid_on(day) for c in certificates):
            valid.add(member.person_id)
    return Exclusions(persons=blocked, vog_required=True, vog_valid=frozenset(valid))


async def _members_only(r: Repository, group: Group | None, profiles: list[Helper]) -> list[Helper]:
    """A group's request is seen by its members only: tell no one else."""
    if group is None:
        return profiles
    members = {m.person_id for m in await r.members(group.id) if m.active}
    return [p for p in profiles if p.person_id in members]


async def volunteers_near(
    r: Repository,
    request: Post,
    table: NeighbourhoodTable,
    cats: Categories,
    group: Group | None,
) -> list[Helper]:
    """The volunteers to tell about a new request: its category and branch, best first."""
    family = cats.members(cats.family(request.category))
    seen = {h.person_id: h for h in await r.helpers_for(family)}
    ranked = nearby_volunteers(
        request,
        await _members_only(r, group, list(seen.values())),
        table=table,
        categories=cats,
        exclusions=await _exclusions(r, request, group),
        limit=TELL_AT_MOST,
    )
    return [seen[c.item.ref_id] for c in ranked]


async def candidate_sources(
    r: Repository,
    request: Post,
    requester: Viewer,
    table: NeighbourhoodTable,
    cats: Categories,
    group: Group | None,
    *,
    limit: int,
) -> list[Ranked[Candidate]]:
    home = table.get(request.neighbourhood_code)
    if home is None:
        return []
    near = [n.code for n in table.near(home, request.radius_km)]
    exclusions = await _exclusions(r, request, group)
    offers: list[Offer] = []
    helpers: dict[str, Helper] = {}
    entries: list[MapEntry] = []
    ranked: list[Ranked[Candidate]] = []
    levels = tiers(request, cats)
    for index, (_, families) in enumerate(levels):
        for family in families:
            codes = cats.members(family)
            for hood in near:
                offers += [
                    o
                    for o in await r.open_offers(codes, hood)
                    if not o.under_review
                    and scope_allows(o.scope, o.group_id, o.neighbourhood_code, requester)
                ]
            for helper in await r.helpers_for(codes):
                helpers[helper.person_id] = helper
            entries += await r.map_entries(codes)
        ranked = candidates_for(
            request,
            offers=offers,
            volunteers=await _members_only(r, group, list(helpers.values())),
            entries=entries,
            table=table,
            categories=cats,
            exclusions=exclusions,
            limit=limit,
        )
        following = levels[index + 1][0] if index + 1 < len(levels) else None
        if following is None:
            break
        if len(ranked) == limit and ranked[-1].score >= best_possible(following):
            break
    return ranked
