from __future__ import annotations

import csv
import io
import itertools
import json
import xml.etree.ElementTree as ET
from collections import defaultdict

from effect_measurement.demo.generator import (
    MATRIX_FAMILY,
    NEIGHBOURHOODS,
    generate_demo,
    stream_measurements,
)
from effect_measurement.domain.aggregates import fold_batch
from effect_measurement.domain.periods import year
from effect_measurement.domain.reports import ReportKey, build_report
from effect_measurement.domain.tables import (
    Column,
    PublishedTable,
    Row,
    SuppressionReason,
    hidden,
    shown,
)
from effect_measurement.domain.texts import Text
from effect_measurement.domain.trajectories import build_trajectories
from effect_measurement.domain.transitions import TransitionMatrix
from effect_measurement.presentation.exports import SUPPRESSED_MARKER, to_csv, to_json
from effect_measurement.presentation.svg import (
    neighbourhood_bar_chart,
    phase_movement_chart,
    trend_chart,
)
from em_builders import at, matrix

SVG = "{http://www.w3.org/2000/svg}"
TABLE = PublishedTable(
    Text("Titel", "Title"),
    10,
    ("neighbourhood",),
    (Column("measured", Text("Gemeten", "Measured")),),
    (
        Row("a", {"neighbourhood": "wijk-01"}, {"measured": shown(12)}),
        Row(
            "b",
            {"neighbourhood": "wijk-02 <&>"},
            {"measured": hidden(SuppressionReason.SMALL_COUNT)},
        ),
    ),
)


def test_csv_and_json_mark_suppressed_cells_without_values() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(TABLE))))
    assert rows == [
        ["neighbourhood", "measured"],
        ["wijk-01", "12"],
        ["wijk-02 <&>", SUPPRESSED_MARKER],
    ]
    document = json.loads(to_json(TABLE))
    assert document["rows"][1]["cells"]["measured"] == {
        "suppressed": True,
        "reason": "small_count",
        "reason_nl": "Minder dan k personen.",
        "reason_en": "Fewer than k people.",
    }
    assert "value" not in document["rows"][1]["cells"]["measured"]


def check_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == SVG + "svg" and root.get("role") == "img"
    assert root[0].tag == SVG + "title" and root[1].tag == SVG + "desc"
    return root


def test_charts_are_accessible_well_formed_svg() -> None:
    (trajectory,) = build_trajectories(
        [
            matrix("r1", at(2026, 1), {"finances": 2, "housing": 3}),
            matrix("r2", at(2026, 4), {"finances": 4, "housing": 3}),
        ]
    ).values()
    root = check_svg(
        trend_chart(trajectory, Text("Mijn verloop", "My trend"), {"finances": "Geld & schulden"})
    )
    assert len(root.findall(f".//{SVG}polyline")) == 2
    assert "Geld & schulden" in (root[1].text or "")
    bars = check_svg(
        neighbourhood_bar_chart(TABLE, "measured", Text("Per wijk", "Per neighbourhood"))
    )
    assert len(bars.findall(f".//{SVG}rect")) == 1  # the suppressed row has no bar
    moves = check_svg(
        phase_movement_chart(
            TransitionMatrix({(1, 2): 12, (2, 2): 10}, None), Text("Fasen", "Phases")
        )
    )
    assert len(moves.findall(f".//{SVG}rect")) == 2
    withheld = check_svg(
        phase_movement_chart(
            TransitionMatrix(None, SuppressionReason.SMALL_COUNT), Text("Fasen", "Phases")
        )
    )
    assert withheld.findall(f".//{SVG}rect") == []


def test_demo_is_deterministic_and_uses_placeholder_neighbourhoods() -> None:
    first, second = generate_demo(seed=7, residents=60), generate_demo(seed=7, residents=60)
    assert first == second
    assert {p.neighbourhood_code for p in first.profiles} <= set(NEIGHBOURHOODS)
    assert len({m.measurement.organisation for m in first.measurements}) == 2
    assert generate_demo(seed=8, residents=60) != first


def test_demo_report_publishes_something_with_default_k() -> None:
    data = generate_demo()
    cells = fold_batch("demo", data.measurements, {})
    table = build_report(cells, ReportKey("demo", MATRIX_FAMILY, "finances", year(2025)), 10)
    assert any(not c.suppressed for r in table.rows for c in r.cells.values())


def test_stream_yields_exactly_count_lazily() -> None:
    stream = stream_measurements(1_000_000, seed=1)
    head = list(itertools.islice(stream, 500))
    assert len(head) == 500
    assert list(stream_measurements(25, seed=1)) == head[:25]
    per_person: dict[str, int] = defaultdict(int)
    for stored in head:
        per_person[stored.measurement.person_id or ""] += 1
    assert max(per_person.values()) <= 4
