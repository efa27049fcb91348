from __future__ import annotations

from collections import Counter
from itertools import islice
from types import GeneratorType

from social_map.demo.generator import bench_entries, demo_map
from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS, PIET_PC4
from social_map.domain.model import SocialMapData
from social_map.domain.taxonomy import Taxonomy
from social_map.presentation.neighbourhood_selection import entries_in
from social_map_testkit import NOW


def test_demo_map_is_large_varied_and_deterministic(
    demo: SocialMapData, taxonomy: Taxonomy
) -> None:
    assert len(demo.entries) >= 300
    assert len(DEMO_NEIGHBOURHOODS) >= 5
    assert demo == demo_map(reference=NOW)
    assert len({e.id for e in demo.entries}) == len(demo.entries)
    for e in demo.entries:
        taxonomy.validate_codes(e.category_codes)
    org_ids = {o.id for o in demo.organizations}
    assert {e.organization_id for e in demo.entries} <= org_ids
    assert any(o.kind == "residents_initiative" for o in demo.organizations)
    assert len(Counter(e.category_codes[0] for e in demo.entries)) >= 15
    assert any(not e.cost.free for e in demo.entries) and any(e.cost.free for e in demo.entries)


def test_every_neighbourhood_has_entries_inside_its_box(demo: SocialMapData) -> None:
    for hood in DEMO_NEIGHBOURHOODS:
        assert 52.42 <= hood.centroid_lat <= 52.49 and 4.79 <= hood.centroid_lon <= 4.89
        assert all(9901 <= int(p) <= 9916 for p in hood.pc4)
        assert len(entries_in(hood, demo.entries)) >= 60


def test_de_stappers_for_the_piet_story(demo: SocialMapData) -> None:
    (walk,) = [e for e in demo.entries if e.name == "Wandelgroep De Stappers"]
    assert (
        walk.schedules[0].rrule == "FREQ=WEEKLY;BYDAY=TU" and walk.schedules[0].opens_at is not None
    )
    assert walk.schedules[0].opens_at.hour == 10
    assert walk.cost.free and walk.eligibility.minimum_age == 55
    address = walk.locations[0].address
    assert address is not None and address.pc4 == PIET_PC4


def test_bench_stream_is_lazy_and_deterministic() -> None:
    stream = bench_entries(50_000)
    assert isinstance(stream, GeneratorType)
    first = list(islice(stream, 5))
    assert first == list(islice(bench_entries(50_000), 5))
    assert sum(1 for _ in bench_entries(120)) == 120
