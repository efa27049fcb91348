"""Accessible SVG charts as plain strings: <title> and <desc> first, well-formed XML.

Charts of aggregates take a ``PublishedTable`` / ``TransitionMatrix`` only, so a suppressed
figure cannot end up in a picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

from effect_measurement.domain.scales import ORDINAL_SCALES
from effect_measurement.domain.tables import PublishedTable
from effect_measurement.domain.texts import Text
from effect_measurement.domain.trajectories import Trajectory
from effect_measurement.domain.transitions import TransitionMatrix

WIDTH, HEIGHT = 640, 360
MARGIN = 48
# Colour-blind safe palette (Okabe-Ito); lines also differ by dash pattern.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3")


def _document(title: Text, description: str, body: list[str], height: int = HEIGHT) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="chart-title chart-desc" '
        f'font-family="sans-serif" font-size="12">'
    )
    return "\n".join(
        [
            head,
            f'<title id="chart-title">{escape(title.nl)} / {escape(title.en)}</title>',
            f'<desc id="chart-desc">{escape(description)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _text(x: float, y: float, content: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(content)}</text>'


def trend_chart(
    trajectory: Trajectory, title: Text, labels: Mapping[str, str] | None = None
) -> str:
    """A resident's own trend: one line per dimension over their measurements."""
    labels = labels or {}
    low, high = (1.0, 5.0) if trajectory.scale in ORDINAL_SCALES else (0.0, 10.0)
    points = trajectory.points
    dims = trajectory.dimensions()
    plot_w, plot_h = WIDTH - 2 * MARGIN - 120, HEIGHT - 2 * MARGIN
    step = plot_w / max(len(points) - 1, 1)

    def y(value: float) -> float:
        return MARGIN + plot_h - (value - low) / (high - low) * plot_h

    body = [
        f'<line x1="{MARGIN}" y1="{MARGIN + plot_h}" x2="{MARGIN + plot_w}" '
        f'y2="{MARGIN + plot_h}" stroke="#333"/>',
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{MARGIN + plot_h}" stroke="#333"/>',
        _text(MARGIN - 6, y(high) + 4, f"{high:g}", "end"),
        _text(MARGIN - 6, y(low) + 4, f"{low:g}", "end"),
    ]
    for index, point in enumerate(points):
        body.append(
            _text(
                MARGIN + index * step,
                MARGIN + plot_h + 16,
                point.submitted_at.date().isoformat(),
                "middle",
            )
        )
    described: list[str] = []
    for n, dimension in enumerate(dims):
        series = [(i, p.values[dimension]) for i, p in enumerate(points) if dimension in p.values]
        coords = " ".join(f"{MARGIN + i * step:.1f},{y(v):.1f}" for i, v in series)
        colour, dash = PALETTE[n % len(PALETTE)], DASHES[n % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        name = labels.get(dimension, dimension)
        body.append(
            f'<g><title>{escape(name)}</title><polyline points="{coords}" fill="none" '
            f'stroke="{colour}" stroke-width="2"{dash_attr}/></g>'
        )
        body.append(_text(MARGIN + plot_w + 10, MARGIN + 14 * (n + 1), name))
        described.append(f"{name}: " + ", ".join(f"{v:g}" for _, v in series))
    description = (
        f"Verloop per onderdeel over {len(points)} metingen. / Trend per dimension over "
        f"{len(points)} measurements. " + "; ".join(described)
    )
    return _document(title, description, body)


def phase_movement_chart(matrix: TransitionMatrix, title: Text) -> str:
    """Bars per (from -> to) move; a withheld matrix shows a notice instead of numbers."""
    if matrix.counts is None:
        notice = "Niet getoond: te weinig personen. / Not shown: too few people."
        return _document(title, notice, [_text(WIDTH / 2, HEIGHT / 2, notice, "middle")], 120)
    moves = sorted(matrix.counts.items())
    largest = max((c for _, c in moves), default=1)
    bar_h = 18
    height = MARGIN * 2 + bar_h * len(moves) * 1.4
    body: list[str] = []
    described = []
    for n, ((a, b), count) in enumerate(moves):
        top = MARGIN + n * bar_h * 1.4
        width = (WIDTH - 2 * MARGIN - 120) * count / largest
        colour = PALETTE[0] if b > a else PALETTE[1] if b == a else PALETTE[5]
        body.append(_text(MARGIN + 60, top + 13, f"fase {a} → {b}", "end"))
        body.append(
            f'<rect x="{MARGIN + 70}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{bar_h}" fill="{colour}"/>'
        )
        body.append(_text(MARGIN + 76 + width, top + 13, str(count)))
        described.append(f"{a}→{b}: {count}")
    description = "Verschuiving tussen fasen. / Movement between phases. " + "; ".join(described)
    return _document(title, description, body, int(height))


def neighbourhood_bar_chart(table: PublishedTable, column: str, title: Text) -> str:
    """One bar per row of a published table; suppressed rows show a marker, no bar."""
    rows = table.rows
    values = [r.cells[column].value for r in rows if not r.cells[column].suppressed]
    largest = max((abs(float(v)) for v in values if v is not None), default=1.0) or 1.0
    bar_h = 18
    height = int(MARGIN * 2 + bar_h * len(rows) * 1.4)
    body: list[str] = []
    described = []
    for n, row in enumerate(rows):
        top = MARGIN + n * bar_h * 1.4
        name = " / ".join(row.labels[f] for f in table.row_label_fields if f in row.labels)
        body.append(_text(MARGIN + 150, top + 13, name, "end"))
        cell = row.cells[column]
        if cell.value is None:
            body.append(
                f'<text x="{MARGIN + 160}" y="{top + 13:.1f}" font-style="italic">'
                "onderdrukt / suppressed</text>"
            )
            described.append(f"{name}: onderdrukt")
            continue
        width = (WIDTH - 2 * MARGIN - 220) * abs(float(cell.value)) / largest
        body.append(
            f'<rect x="{MARGIN + 160}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{bar_h}" fill={quoteattr(PALETTE[0])}/>'
        )
        body.append(_text(MARGIN + 166 + width, top + 13, f"{cell.value:g}"))
        described.append(f"{name}: {cell.value:g}")
    description = f"{column} per wijk. / {column} per neighbourhood. " + "; ".join(described)
    return _document(title, description, body, height)
