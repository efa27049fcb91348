from __future__ import annotations

from effect_measurement.domain.accumulator import Accumulator, apply_deltas
from effect_measurement.domain.aggregates import person_cells
from effect_measurement.domain.benchmark import Metric, anonymous_label, build_benchmark, percentile
from effect_measurement.domain.inputs import InterventionInput
from effect_measurement.domain.keys import CellKey
from effect_measurement.domain.periods import year
from effect_measurement.domain.persona import persona_cells
from effect_measurement.domain.persona_report import build_persona_report
from effect_measurement.domain.reports import ReportKey
from em_builders import at, matrix

KEY = ReportKey("t", "zrm", "finances", year(2026))


def org_cells(org: str, people: int, start: int, end: int) -> dict[CellKey, Accumulator]:
    cells: dict[CellKey, Accumulator] = {}
    for i in range(people):
        cells = apply_deltas(
            cells,
            person_cells(
                "t",
                [
                    matrix(
                        f"{org}-{i}-a",
                        at(2026, 1),
                        {"finances": start},
                        person=f"{org}-{i}",
                        organisation=org,
                    ),
                    matrix(
                        f"{org}-{i}-b",
                        at(2026, 5),
                        {"finances": end},
                        person=f"{org}-{i}",
                        organisation=org,
                    ),
                ],
            ),
        )
    return cells


def test_benchmark_percentiles_anonymised_and_small_orgs_left_out() -> None:
    cells: dict[CellKey, Accumulator] = {}
    for org, n, end in [
        ("own", 10, 3),
        ("org-b", 10, 2),
        ("org-c", 12, 4),
        ("org-d", 15, 5),
        ("tiny", 4, 5),
    ]:
        cells = apply_deltas(cells, org_cells(org, n, 1, end))
    result = build_benchmark(
        cells, KEY, "own", Metric.MEAN_CHANGE, 10, salt="req-1", named_organisations={"org-d"}
    )
    assert result.own_value == 2.0
    assert [(e.label, e.value) for e in result.others] == [
        ("Organisatie A", 1.0),
        ("Organisatie B", 3.0),
        ("org-d", 4.0),
    ]
    assert result.percentiles == {"p25": 2.0, "p50": 3.0, "p75": 3.5}
    assert all("tiny" not in e.label for e in result.others)


def test_no_percentiles_with_fewer_than_three_others_and_small_own_hidden() -> None:
    cells = apply_deltas(org_cells("own", 3, 1, 2), org_cells("org-b", 10, 1, 2))
    result = build_benchmark(cells, KEY, "own", Metric.SHARE_IMPROVED, 10, salt="x")
    assert result.percentiles is None and result.own_value is None and result.own_reason


def test_percentile_and_labels() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert anonymous_label(0) == "Organisatie A" and anonymous_label(26) == "Organisatie AA"


def test_persona_groups_by_profile_and_intervention_with_suppression() -> None:
    cells: dict = {}  # type: ignore[type-arg]
    for i in range(14):
        person = f"p{i}"
        stored = [
            matrix(f"{i}a", at(2026, 1), {"finances": 2}, person=person),
            matrix(f"{i}b", at(2026, 5), {"finances": 3}, person=person),
        ]
        events = (
            [
                InterventionInput(
                    intervention_id=f"e{i}",
                    person_id=person,
                    type="help_matched",
                    occurred_at=at(2026, 3),
                )
            ]
            if i < 11
            else []
        )
        cells = apply_deltas(cells, persona_cells("t", stored, events))
    report = build_persona_report(cells, "t", "zrm", "finances", year(2026), "age_band", 10)
    row = report.counts.rows[0]
    assert row.labels == {"age_band": "27-44"}
    assert row.cells["help_matched"].value == 11
    assert row.cells["none"].value is None  # 3 people without intervention
    assert report.mean_change.rows[0].cells["help_matched"].value == 1.0
    assert report.counts.totals is not None
    assert report.counts.totals.cells["none"].value is None
