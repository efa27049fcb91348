"""Spider-web chart ("spinnenweb") as SVG, plus the same figures as an HTML table.

A conversation tool, not a benchmark: it shows one person's own scores, optionally two moments
overlaid (earlier vs now) to show their trend. Accessible: role="img" with <title>/<desc>, series
told apart by dash pattern and marker shape as well as colour, and a table alternative.
Built with plain string joins (no DOM) because it is rendered on every result page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from questionnaires.domain.dimensions import dimension_label
from questionnaires.domain.i18n import Language
from questionnaires.domain.scoring import ScoreResult
from questionnaires.presentation import labels as L

WIDTH = 720
CHART_HEIGHT = 520
CX, CY, RADIUS = WIDTH / 2, CHART_HEIGHT / 2, 190.0
RINGS = (2, 4, 6, 8, 10)
# Colour-blind safe pair (Okabe-Ito blue / vermillion), plus dash patterns.
_STYLES = (
    ("#0072B2", "", "circle"),
    ("#D55E00", "6 4", "square"),
    ("#009E73", "2 3", "diamond"),
)


@dataclass(frozen=True)
class ChartSeries:
    label: str
    values: Mapping[str, float | None]  # dimension code -> score 0-10


@dataclass(frozen=True)
class Axis:
    code: str
    label: str


def axes_for(result: ScoreResult, language: Language) -> list[Axis]:
    return [
        Axis(d.dimension, dimension_label(d.dimension).get(language))
        for d in result.dimension_scores
        if d.outcome == "score"
    ]


def series_for(result: ScoreResult, label: str) -> ChartSeries:
    return ChartSeries(label, {d.dimension: d.score for d in result.dimension_scores})


def render_spider_chart(
    axes: Sequence[Axis],
    series: Sequence[ChartSeries],
    *,
    title: str,
    language: Language = "nl",
    id_prefix: str = "spider",
) -> str:
    """SVG for 3+ axes; `series` is drawn in order (first = earlier moment, last = now)."""
    if len(axes) < 3:
        raise ValueError("a spider chart needs at least three axes")
    if len(series) > len(_STYLES):
        raise ValueError(f"at most {len(_STYLES)} series")
    n = len(axes)
    angles = [-math.pi / 2 + 2 * math.pi * i / n for i in range(n)]
    unit = [(math.cos(a), math.sin(a)) for a in angles]
    legend_height = 36 * len(series) + 16 if series else 0
    height = CHART_HEIGHT + legend_height
    pid = escape(id_prefix, quote=True)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" lang="{language}" '
        f'aria-labelledby="{pid}-title {pid}-desc" font-family="Verdana, Arial, sans-serif">',
        f'<title id="{pid}-title">{escape(title)}</title>',
        f'<desc id="{pid}-desc">{escape(_description(axes, series, language))}</desc>',
        '<g fill="none" stroke="#999" stroke-width="1">',
    ]
    for ring in RINGS:
        r = RADIUS * ring / 10
        out.append(f'<polygon points="{_points([(ux * r, uy * r) for ux, uy in unit])}"/>')
    for ux, uy in unit:
        out.append(f'<line x1="{CX}" y1="{CY}" x2="{_x(ux * RADIUS)}" y2="{_y(uy * RADIUS)}"/>')
    out.append('</g><g font-size="12" fill="#555" text-anchor="middle">')
    for ring in RINGS:
        out.append(f'<text x="{CX}" y="{_y(-RADIUS * ring / 10) - 3:.1f}">{ring}</text>')
    out.append('</g><g font-size="16" fill="#000">')
    for axis, (ux, uy) in zip(axes, unit, strict=True):
        anchor = "middle" if abs(ux) < 0.2 else ("start" if ux > 0 else "end")
        dy = 16 if uy > 0.2 else (-6 if uy < -0.2 else 5)
        out.append(
            f'<text x="{_x(ux * (RADIUS + 12))}" y="{_y(uy * (RADIUS + 12)) + dy:.1f}" '
            f'text-anchor="{anchor}">{escape(axis.label)}</text>'
        )
    out.append("</g>")
    for s, (colour, dash, marker) in zip(series, _STYLES, strict=False):
        out.append(_series(s, axes, unit, colour, dash, marker))
    if series:
        out.append(_legend(series))
    out.append("</svg>")
    return "".join(out)


def render_score_table(
    axes: Sequence[Axis], series: Sequence[ChartSeries], *, language: Language = "nl"
) -> str:
    """The chart's figures as an HTML table: the text alternative for screen readers and print."""
    head = "".join(f'<th scope="col">{escape(s.label)}</th>' for s in series)
    rows = []
    for axis in axes:
        cells = "".join(
            f"<td>{escape(_value_text(s.values.get(axis.code), language))}</td>" for s in series
        )
        rows.append(f'<tr><th scope="row">{escape(axis.label)}</th>{cells}</tr>')
    return (
        f'<table class="scores"><caption>{escape(L.SCORE_TABLE_CAPTION.get(language))}</caption>'
        f'<thead><tr><th scope="col">{escape(L.DIMENSION.get(language))}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _series(
    s: ChartSeries,
    axes: Sequence[Axis],
    unit: Sequence[tuple[float, float]],
    colour: str,
    dash: str,
    marker: str,
) -> str:
    # Missing scores are left out of the outline rather than drawn as 0, which would look like a
    # very low score.
    pts = []
    for axis, (ux, uy) in zip(axes, unit, strict=True):
        value = s.values.get(axis.code)
        if value is not None:
            r = RADIUS * max(0.0, min(10.0, value)) / 10
            pts.append((ux * r, uy * r))
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    parts = [f'<g class="series"><title>{escape(s.label)}</title>']
    if len(pts) >= 2:
        parts.append(
            f'<polygon points="{_points(pts)}" fill="{colour}" fill-opacity="0.15" '
            f'stroke="{colour}" stroke-width="3"{dash_attr}/>'
        )
    parts += [_marker(marker, _x(x), _y(y), colour) for x, y in pts]
    parts.append("</g>")
    return "".join(parts)


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "circle":
        return f'<circle cx="{x}" cy="{y}" r="5" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="{colour}"/>'
    diamond = f"{x:.1f},{y - 6:.1f} {x + 6:.1f},{y:.1f} {x:.1f},{y + 6:.1f} {x - 6:.1f},{y:.1f}"
    return f'<polygon points="{diamond}" fill="{colour}"/>'


def _legend(series: Sequence[ChartSeries]) -> str:
    parts = ['<g class="legend" font-size="16">']
    for i, (s, (colour, dash, marker)) in enumerate(zip(series, _STYLES, strict=False)):
        y = CHART_HEIGHT + 20 + 36 * i
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="40" y1="{y}" x2="90" y2="{y}" stroke="{colour}" '
            f'stroke-width="3"{dash_attr}/>'
            f"{_marker(marker, 65, y, colour)}"
            f'<text x="104" y="{y + 6}">{escape(s.label)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _description(axes: Sequence[Axis], series: Sequence[ChartSeries], language: Language) -> str:
    text = L.CHART_DESC.get(language).replace("{n}", str(len(axes)))
    for s in series:
        figures = ", ".join(
            f"{a.label}: {_value_text(s.values.get(a.code), language)}" for a in axes
        )
        text += f" {s.label}: {figures}."
    return text


def _value_text(value: float | None, language: Language) -> str:
    if value is None:
        return L.NOT_ANSWERED.get(language)
    shown = f"{value:.1f}"
    return shown.replace(".", ",") if language == "nl" else shown


def _x(dx: float) -> float:
    return round(CX + dx, 1)


def _y(dy: float) -> float:
    return round(CY + dy, 1)


def _points(pts: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_x(x)},{_y(y)}" for x, y in pts)


__all__ = [
    "Axis",
    "ChartSeries",
    "axes_for",
    "render_score_table",
    "render_spider_chart",
    "series_for",
]
