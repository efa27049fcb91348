"""The index's set structures (facets, text classes, cell bounds, visibility, best-page-first
scoring) give exactly the hits, totals and order of the slow path (`ranking.rank` over every
entry with `filters.build_predicate`), on a generated data set with the odd cases mixed in:
online-only offers, several locations, inactive, announced hidden, stale and hidden by age."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from social_map.demo.generator import bench_entries
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.domain import search_index
from social_map.domain.filters import SearchFilters, build_predicate
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.geo import GeoPoint, bounding_box, haversine_km
from social_map.domain.model import Entry, EntryKind, LocationType, ServiceStatus
from social_map.domain.occurrences import TZ
from social_map.domain.ranking import entry_field_tokens, rank, text_score
from social_map.domain.search_geo import CELL_LAT, CELL_LON, CellShape, cell_of
from social_map.domain.search_index import SearchIndex, SearchProjection, project
from social_map.domain.search_prefilter import Facets, Visibility
from social_map.domain.search_projection import epoch_us, thresholds
from social_map.domain.search_text import Postings, text_classes
from social_map.domain.taxonomy import Taxonomy
from social_map.domain.text_analysis import Analyzer

# UTC like the service's clock: `freshness.state` subtracts datetimes of one ZoneInfo as wall
# clock times, the index in elapsed µs; they differ by the DST hour for such test-only inputs
NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
TEXTS = [
    "wandelen",
    "koffie",
    "schulden hulp",
    "taalcafé",
    "bewegen ouderen",
    "samen eten",
    "digitaal",
    "",
    "",
    "xyzzy",
]


def _odd(entry: Entry, rng: random.Random) -> Entry:
    """Mix in what the generator does not make: online offers, a second location, inactive."""
    roll = rng.random()
    sals = entry.service_at_locations
    if roll < 0.05:
        online = sals[0].location.model_copy(
            update={"location_type": LocationType.VIRTUAL, "latitude": None, "longitude": None}
        )
        return entry.model_copy(
            update={"service_at_locations": [sals[0].model_copy(update={"location": online})]}
        )
    if roll < 0.15:
        loc = sals[0].location
        other = loc.model_copy(
            update={
                "id": f"{loc.id}-2",
                "accessibility": [],
                "latitude": (loc.latitude or 0) + rng.uniform(-0.03, 0.03),
                "longitude": (loc.longitude or 0) + 0.02,
            }
        )
        extra = sals[0].model_copy(update={"id": f"{sals[0].id}-2", "location": other})
        return entry.model_copy(update={"service_at_locations": [*sals, extra]})
    if roll < 0.18:
        return entry.model_copy(update={"status": ServiceStatus.INACTIVE})
    return entry


@pytest.fixture(scope="module")
def data(analyzer: Analyzer, taxonomy: Taxonomy) -> tuple[list[Entry], set[str], SearchIndex]:
    rng = random.Random(11)
    entries = [_odd(e, rng) for e in bench_entries(1200, seed=3, reference=NOW)]
    announced = {e.id for e in entries if rng.random() < 0.03}
    index = SearchIndex()
    for i, entry in enumerate(entries):
        stored = json.loads(json.dumps(project(entry, analyzer, taxonomy)))
        index.upsert(SearchProjection.from_json(entry.id, i, entry.id in announced, stored))
    return entries, announced, index


def _query(rng: random.Random) -> tuple[str, SearchFilters, GeoPoint | None, float]:
    filters = SearchFilters(
        free_only=rng.random() < 0.2,
        age=rng.choice([None, None, None, 8, 30, 70]),
        accessibility=rng.choice([[], [], [], ["wheelchair"], ["wheelchair", "hearing_loop"]]),
        kind=rng.choice([None, None, EntryKind.ACTIVITY]),
        language=rng.choice([None, None, "nl", "en"]),
        category=rng.choice([None, None, None, "bewegen", "geldzaken", "ontmoeting"]),
        weekday=rng.choice([None] * 5 + [2]),
    )
    center = rng.choice([None, GeoPoint(52.47, 4.86)] + [n.centroid for n in DEMO_NEIGHBOURHOODS])
    return rng.choice(TEXTS), filters, center, rng.choice([0.5, 1.0, 2.0, 3.0, 8.0, 50.0])


#: (_GRID_FACTOR, _MAX_GROUP_CELLS): as tuned; text matches always checked one by one and
#: hits grouped by text score only; the grid always used and groups always per cell
PATHS = [(None, None), (0, 0), (10**9, 10**6)]


@pytest.mark.parametrize("seed", range(40))
def test_pages_and_totals_match_the_slow_path(
    seed: int,
    data: tuple[list[Entry], set[str], SearchIndex],
    analyzer: Analyzer,
    taxonomy: Taxonomy,
    policy: FreshnessPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries, announced, index = data
    rng = random.Random(seed)
    text, filters, center, radius = _query(rng)
    now = NOW + timedelta(days=rng.choice([0, 60, 200]))
    expected = rank(
        [e for e in entries if e.id not in announced],
        analyzer=analyzer,
        taxonomy=taxonomy,
        policy=policy,
        now=now,
        text=text,
        center=center,
        radius_km=radius,
        keep=build_predicate(filters, taxonomy, now.astimezone(TZ).date()),
    )
    want = [
        (
            h.entry.id,
            h.score,
            h.text_score,
            h.distance_km,
            h.location_id,
            h.freshness,
            h.stale_warning,
        )
        for h in expected
    ]
    for (grid_factor, max_cells), top in zip(PATHS * 2, (None, 1, 7, 40, 40, 7), strict=True):
        monkeypatch.undo()
        if grid_factor is not None and max_cells is not None:
            monkeypatch.setattr(search_index, "_GRID_FACTOR", grid_factor)
            monkeypatch.setattr(search_index, "_MAX_GROUP_CELLS", max_cells)
        hits, total = index.search_page(
            terms=analyzer.query_terms(text),
            filters=filters,
            categories=filters.category_codes(taxonomy),
            policy=policy,
            now=now,
            today=now.astimezone(TZ).date(),
            center=center,
            radius_km=radius,
            top=top,
        )
        got = [
            (
                h.entry_id,
                h.score,
                h.text_score,
                h.distance_km,
                h.location_id,
                h.freshness,
                h.stale_warning,
            )
            for h in hits
        ]
        assert total == len(want)
        assert got == want[:top]


def test_facets_narrow_like_the_predicate(
    data: tuple[list[Entry], set[str], SearchIndex], taxonomy: Taxonomy
) -> None:
    entries, _, index = data
    facets = Facets()
    for p in index.entries.values():
        facets.add(p)
    every = set(index.entries)
    rng = random.Random(5)
    for _ in range(60):
        filters = _query(rng)[1].model_copy(update={"weekday": None})
        keep = build_predicate(filters, taxonomy, NOW.date())
        codes = filters.category_codes(taxonomy)
        narrowed = facets.narrow(every, filters, codes)
        wanted = set(filters.accessibility)
        # with several features, one location must offer them all: checked per entry after
        got = {
            i for i in narrowed if not wanted or any(wanted <= at for at in index.entries[i].access)
        }
        assert got == {e.id for e in entries if keep(e)}
    assert every == set(index.entries)  # not changed in place
    for p in list(index.entries.values()):
        facets.discard(p)
    assert facets.narrow(every, SearchFilters(kind=EntryKind.ACTIVITY, age=30), None) == set()


def test_text_classes_hold_the_text_score(
    data: tuple[list[Entry], set[str], SearchIndex], analyzer: Analyzer, taxonomy: Taxonomy
) -> None:
    entries, _, index = data
    postings = Postings()
    for p in index.entries.values():
        postings.add(p.id, p.weights)
    by_id = {e.id: e for e in entries}
    for text in ["wandelen", "schulden hulp", "samen eten koffie", "taalcafé digitaal hulp"]:
        terms = analyzer.query_terms(text)
        classes = text_classes(set(by_id), terms, postings)
        totals = [t for t, _ in classes]
        assert totals == sorted(totals, reverse=True) and len(set(totals)) == len(totals)
        got = {i: t / (3.0 * len(terms)) for t, ids in classes for i in ids}
        want = {
            i: s
            for i, e in by_id.items()
            if (s := text_score(terms, entry_field_tokens(e, analyzer, taxonomy))) > 0
        }
        assert got == want  # the same floats, not just close
        assert set().union(*(ids for _, ids in classes)) == postings.union(terms)


def test_cell_shapes_bound_every_point_of_the_cell() -> None:
    rng = random.Random(2)
    for _ in range(40):
        center = GeoPoint(52.45 + rng.uniform(-0.05, 0.05), 4.85 + rng.uniform(-0.05, 0.05))
        radius = rng.choice([0.3, 1.0, 2.5])
        box = bounding_box(center, radius)
        lo, hi = cell_of(box.min_lat, box.min_lon), cell_of(box.max_lat, box.max_lon)
        for ca in range(lo[0] - 1, hi[0] + 2):
            for co in range(lo[1] - 1, hi[1] + 2):
                shape = CellShape.of((ca, co))
                inside = shape.inside(center.lat, center.lon, radius, box)
                bound = shape.lower_bound(center.lat, center.lon)
                for _ in range(30):
                    lat = (ca + rng.choice([0.0, 1.0, rng.random()])) * CELL_LAT
                    lon = (co + rng.choice([0.0, 1.0, rng.random()])) * CELL_LON
                    d = haversine_km(center, GeoPoint(lat, lon))
                    assert bound <= d
                    if inside:
                        assert d <= radius and box.contains(GeoPoint(lat, lon))


def test_visibility_holds_until_the_next_threshold(
    data: tuple[list[Entry], set[str], SearchIndex], policy: FreshnessPolicy
) -> None:
    _, announced, index = data
    projections = [copy.copy(p) for p in index.entries.values()]  # the index's stay as they are
    for p in projections:
        p.due_us, p.stale_us, p.hidden_us = thresholds(p, policy)
    now_us = epoch_us(NOW)
    seen = Visibility(projections, now_us)

    def hidden(at: int) -> set[str]:
        return {p.id for p in projections if p.hidden or not p.shown or at >= p.hidden_us}

    assert announced <= seen.hidden == hidden(now_us)
    assert seen.valid_at(now_us) and not seen.valid_at(now_us - 1)
    assert seen.until > now_us and hidden(seen.until - 1) == seen.hidden != hidden(seen.until)
    # an upsert that hides an entry (announced) or makes it fresh again is taken in at once
    p = next(p for p in projections if p.id not in seen.hidden)
    p.hidden = True
    seen.update(p)
    assert p.id in seen.hidden
    p.hidden = False
    p.hidden_us = now_us + 5
    seen.update(p)
    assert p.id not in seen.hidden and seen.until == now_us + 5
