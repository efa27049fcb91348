"""Where candidates come from: the reads behind matching (`domain.matching`).

Candidates are read by category family (a top-level category with its branch): the
request's own family first, then the families sharing a questionnaire dimension with it. The
second tier is only read when its candidates could still enter the list: with `limit`
distinct candidates in hand that all score above the best a 0.3 fit can reach
(`Matching.could_use`: at the door, with every other signal at its best), it is skipped;
when it is read, a neighbourhood's offers are read only if one of them could still enter
(`Matching.could_use_offers`: the bound of its categories at that distance). So the result
is the same as ranking everything, at a fraction of the reads. The reads of a tier are sent
together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from wijkkracht_common.ranking import Ranked

from marketplace.adapters.repositories import Repository
from marketplace.domain.categories import Categories
from marketplace.domain.groups import Group
from marketplace.domain.matching import (
    Candidate,
    Exclusions,
    MapEntry,
    Matching,
    Offer,
    nearby_volunteers,
)
from marketplace.domain.places import NeighbourhoodTable
from marketplace.domain.posts import Post
from marketplace.domain.visibility import Viewer
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


async def _exclusions(
    r: Repository, request: Post, group: Group | None, *, owner_blocks: frozenset[str] | None = None
) -> Exclusions:
    """Who is left out of a request's candidates; `owner_blocks` when the owner's blocks
    were read already (the owner asking)."""
    owner = request.owner_id
    blocked = owner_blocks
    if blocked is None:
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


@dataclass
class _Found:
    """What one tier's reads found."""

    offers: list[Offer] = field(default_factory=list)
    helpers: dict[str, Helper] = field(default_factory=dict)
    entries: list[MapEntry] = field(default_factory=list)


async def _read_tier(
    r: Repository,
    families: list[str],
    cats: Categories,
    near: list[str],
    wanted: Callable[[list[str], str], bool],
) -> _Found:
    """Every family's volunteers and entries, and its open offers in each neighbourhood in
    reach where `wanted`: reads that do not depend on each other, so they are sent at once
    (one wait instead of one per read; `r` reads outside any transaction)."""
    members = [cats.members(f) for f in families]
    reads = await asyncio.gather(
        *(r.family_candidates(codes, [h for h in near if wanted(codes, h)]) for codes in members)
    )
    found = _Found()
    for per_hood, helpers, entries in reads:
        for offers in per_hood:
            found.offers += offers
        for helper in helpers:
            found.helpers[helper.person_id] = helper
        found.entries += entries
    return found


def _everywhere(codes: list[str], neighbourhood_code: str) -> bool:
    return True


async def candidate_sources(
    r: Repository,
    request: Post,
    requester: Viewer,
    table: NeighbourhoodTable,
    cats: Categories,
    group: Group | None,
    *,
    limit: int,
    owner_blocks: frozenset[str] | None = None,
) -> list[Ranked[Candidate]]:
    """The ranked candidates for `request` (`owner_blocks`: the owner's blocks either way,
    when the caller read them already). The first tier is read whole; a later one only
    when a candidate of its fit could still enter the list, and then only the offers of
    the neighbourhoods where one could (`Matching.could_use_offers`). `r` must read
    outside a transaction (its reads run concurrently)."""
    home = table.get(request.neighbourhood_code)
    if home is None:
        return []
    near = [n.code for n in table.near(home, request.radius_km)]
    levels = tiers(request, cats)
    excluded, found = await asyncio.gather(
        _exclusions(r, request, group, owner_blocks=owner_blocks),
        _read_tier(r, levels[0][1], cats, near, _everywhere),
    )
    matching = Matching(
        request,
        table=table,
        categories=cats,
        # matching leaves out, offer by offer, what the requester may not see
        exclusions=replace(excluded, viewer=requester),
        limit=limit,
    )
    given: set[str] = set()  # volunteers already given to matching (an earlier tier)
    for index, (fit, families) in enumerate(levels):
        if index > 0:
            if not matching.could_use(fit):
                break
            found = await _read_tier(r, families, cats, near, matching.could_use_offers)
        helpers = await _members_only(r, group, list(found.helpers.values()))
        volunteers = [h for h in helpers if h.person_id not in given]
        given.update(h.person_id for h in volunteers)
        matching.add(offers=found.offers, volunteers=volunteers, entries=found.entries)
    return matching.ranked()
