from __future__ import annotations

import timeit
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.domain.definition import InstrumentDefinition
from questionnaires.domain.response import Response
from questionnaires.presentation.printable import render_printable_summary
from questionnaires.presentation.spider_chart import (
    Axis,
    ChartSeries,
    render_score_table,
    render_spider_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
AnswersFor = Callable[..., dict[str, ItemAnswer]]
SIX = [
    Axis("bodily_functions", "Lichaamsfuncties"),
    Axis("mental_wellbeing", "Mentaal welbevinden"),
    Axis("meaningfulness", "Zingeving"),
    Axis("quality_of_life", "Kwaliteit van leven"),
    Axis("participation", "Meedoen"),
    Axis("daily_functioning", "Dagelijks functioneren"),
]


def series(label: str, base: float) -> ChartSeries:
    return ChartSeries(label, {a.code: base + i / 2 for i, a in enumerate(SIX)})


def test_svg_is_well_formed_and_accessible() -> None:
    svg = render_spider_chart(SIX, [series("Nu", 5)], title="Mijn spinnenweb")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Mijn spinnenweb"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "Zingeving: 6,0" in desc  # figures in the description, Dutch decimal comma
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert all(a.label in labels for a in SIX)
    assert all(str(r) in labels for r in (2, 4, 6, 8, 10))


def test_overlay_of_two_moments_has_a_legend() -> None:
    svg = render_spider_chart(
        SIX, [series("6 januari", 3), series("4 maart", 6)], title="Mijn ontwikkeling"
    )
    root = ET.fromstring(svg)
    assert len(root.findall(f".//{SVG}g[@class='series']")) == 2
    legend = root.find(f".//{SVG}g[@class='legend']")
    assert legend is not None
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["6 januari", "4 maart"]


def test_n_axes_missing_values_and_escaping() -> None:
    axes = [Axis(f"c{i}", f"<as {i}> & co") for i in range(9)]
    values: dict[str, float | None] = {f"c{i}": 7.0 for i in range(9)}
    values["c3"] = None
    svg = render_spider_chart(axes, [ChartSeries("Nu & <straks>", values)], title="T & <t>")
    root = ET.fromstring(svg)
    assert len(root.findall(f".//{SVG}line")) >= 9
    # one marker per answered axis, none for the missing one
    assert len(root.findall(f".//{SVG}g[@class='series']/{SVG}circle")) == 8
    assert "niet ingevuld" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        render_spider_chart(axes[:2], [], title="x")


def test_score_table_is_the_text_alternative() -> None:
    html = render_score_table(SIX, [series("Eerder", 2), series("Nu", 4)], language="en")
    root = ET.fromstring(html)
    assert root.tag == "table"
    rows = root.findall("./tbody/tr")
    assert len(rows) == 6
    assert [c.text for c in rows[0]] == ["Lichaamsfuncties", "2.0", "4.0"]


def test_render_speed_is_measured_not_asserted() -> None:
    # Prints a figure for the curious; never asserts timing.
    s = [series("Eerder", 3), series("Nu", 6)]
    per_call = timeit.timeit(lambda: render_spider_chart(SIX, s, title="x"), number=200) / 200
    print(f"spider chart, 6 axes, 2 series: {per_call * 1000:.3f} ms")


def _submitted(
    definition: InstrumentDefinition, answers: dict[str, ItemAnswer], when: datetime
) -> Response:
    return (
        Response.start(
            response_id=f"r-{when.day}",
            definition=definition,
            subject_id="p-1",
            language="nl",
            now=when,
            assisted_by="staff-1",
        )
        .save_answers(definition, answers, when)
        .submit(definition, when)
    )


def test_printable_summary(now: datetime, answers_for: AnswersFor) -> None:
    short = shipped_instrument("health-short")
    earlier = _submitted(short, answers_for(short, 3), now - timedelta(days=60))
    answers = answers_for(short, 7)
    answers["pa-2"] = ItemAnswer(value=2, discussable=True)
    answers["ql-4"] = ItemAnswer(skipped=True)
    html = render_printable_summary(short, _submitted(short, answers, now), earlier=earlier)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="nl">' in html
    talk = html.split('<ul class="talk">')[1].split("</ul>")[0]
    assert "Er zijn mensen op wie ik kan rekenen." in talk
    assert "Ik kan rondkomen" not in talk
    assert "Overgeslagen" in html
    assert "7 van de 10" in html
    assert "Ingevuld op 4 maart 2025" in html
    assert "Samen met een medewerker ingevuld" in html
    assert "@media print" in html
    svg = html.split('<div class="chart">')[1].split("</div>")[0]
    assert len(ET.fromstring(svg).findall(f".//{SVG}g[@class='series']")) == 2


def test_printable_summary_escapes_resident_text(now: datetime, answers_for: AnswersFor) -> None:
    cs = shipped_instrument("client-satisfaction")
    answers = answers_for(cs, 9)
    answers["cs-6"] = ItemAnswer(value="<script>alert(1)</script>")
    html = render_printable_summary(cs, _submitted(cs, answers, now), language="en")
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "What did you think of our help?" in html


def test_printable_summary_fills_in_parameters(now: datetime, answers_for: AnswersFor) -> None:
    tam = shipped_instrument("technology-acceptance")
    done = _submitted(tam, answers_for(tam, 4), now)
    html = render_printable_summary(tam, done, params={"tool": "Wijkkracht"})
    assert "Werken met Wijkkracht" in html and "{tool}" not in html
