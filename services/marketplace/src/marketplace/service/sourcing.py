"""Where candidates come from: the reads behind matching (`domain.matching`).

Candidates are read by category, best-fitting categories first: the request's own, then
the rest of its branch, then categories sharing a questionnaire dimension. A tier is only
read when its candidates could still enter the list: with `limit` distinct candidates in
hand that all score at least the best score a lower tier could reach, the rest is skipped.
So the result is the same as ranking everything, at a fraction of the reads.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from marketplace.domain.ranking import WEIGHTS, Ranked
from marketplace.domain.visibility import Viewer, scope_allows
from marketplace.domain.volunteers import VolunteerProfile

#: How many volunteers are told about a new request.
TELL_AT_MOST = 20


def tiers(request: Post, cats: Categories) -> list[tuple[float, list[str]]]:
    """Categories by fit to the request, best first: [(fit, codes)]."""
    by_fit: dict[float, list[str]] = {}
    for code in cats.codes:
        fit = cats.fit(request.category, code)
        if fit > 0:
            by_fit.setdefault(fit, []).append(code)
    return sorted(by_fit.items(), key=lambda item: -item[0])


def _best_possible(fit: float) -> float:
    """The highest score a candidate of this fit can reach (all other signals 1)."""
    return WEIGHTS["fit"] * fit + sum(v for k, v in WEIGHTS.items() if k != "fit")


async def _with_homes(
    r: Repository, profiles: Sequence[VolunteerProfile]
) -> list[tuple[VolunteerProfile, str | None]]:
    out = []
    for profile in profiles:
        resident = await r.resident(profile.person_id)
        out.append((profile, resident.neighbourhood_code if resident else None))
    return out


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


async def _members_only(
    r: Repository, group: Group | None, profiles: list[VolunteerProfile]
) -> list[VolunteerProfile]:
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
) -> list[VolunteerProfile]:
    """The volunteers to tell about a new request: its category and branch, best first."""
    seen: dict[str, VolunteerProfile] = {}
    for fit, codes in tiers(request, cats):
        if fit < 0.6:
            break
        for code in codes:
            for profile in await r.volunteers_for(code):
                seen[profile.person_id] = profile
    profiles = await _members_only(r, group, list(seen.values()))
    ranked = nearby_volunteers(
        request,
        await _with_homes(r, profiles),
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
    volunteers: dict[str, VolunteerProfile] = {}
    entries: list[MapEntry] = []
    ranked: list[Ranked[Candidate]] = []
    levels = tiers(request, cats)
    for index, (_, codes) in enumerate(levels):
        for code in codes:
            for hood in near:
                offers += [
                    o
                    for o in await r.open_offers(code, hood)
                    if not o.under_review
                    and scope_allows(o.scope, o.group_id, o.neighbourhood_code, requester)
                ]
            for profile in await r.volunteers_for(code):
                volunteers[profile.person_id] = profile
            entries += await r.map_entries(code)
        profiles = await _members_only(r, group, list(volunteers.values()))
        ranked = candidates_for(
            request,
            offers=offers,
            volunteers=await _with_homes(r, profiles),
            entries=entries,
            table=table,
            categories=cats,
            exclusions=exclusions,
            limit=limit,
        )
        following = levels[index + 1][0] if index + 1 < len(levels) else None
        if following is None:
            break
        if len(ranked) == limit and ranked[-1].score >= _best_possible(following):
            break
    return ranked
