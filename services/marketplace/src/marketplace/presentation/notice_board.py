"""Rendering the notice board: an HTML page to print (large type, no scripts, black on
white) and a plain text a broker can read out on the phone."""

from __future__ import annotations

from datetime import date

from jinja2 import Environment, PackageLoader, select_autoescape

from marketplace.domain.posts import Post, PostKind, Timing
from marketplace.service.notice_board import Board, reference

_env = Environment(
    loader=PackageLoader("marketplace.presentation", "templates"),
    autoescape=select_autoescape(["html"]),
)

KIND_LABELS = {
    PostKind.REQUEST: ("Gevraagd", "Wanted"),
    PostKind.OFFER: ("Aangeboden", "Offered"),
    PostKind.VACANCY: ("Vrijwilligerswerk", "Volunteer work"),
}
DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
PARTS = {"morning": "ochtend", "afternoon": "middag", "evening": "avond"}


def when_text(post: Post) -> str:
    when = post.when
    part = f" ({PARTS[when.part_of_day.value]})" if when.part_of_day else ""
    if when.timing is Timing.ONCE and when.on is not None:
        return f"op {DAYS[when.on.weekday()]} {_day(when.on)}{part}"
    if when.timing is Timing.RECURRING:
        return "elke " + " en ".join(DAYS[d] for d in sorted(when.weekdays)) + part
    return "wanneer het uitkomt" + part


def _day(on: date) -> str:
    months = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ]
    return f"{on.day} {months[on.month - 1]}"


def _rows(board: Board) -> list[dict[str, str]]:
    return [
        {
            "ref": reference(p),
            "kind": KIND_LABELS[p.kind][0],
            "category": board.categories.label(p.category, "nl"),
            "text": p.text,
            "when": when_text(p),
            "organisation": p.organisation or "",
        }
        for p in board.posts
    ]


def render_html(board: Board) -> str:
    return _env.get_template("notice_board.html").render(
        hood=board.neighbourhood, rows=_rows(board), printed=board.printed_at.date()
    )


def render_phone(board: Board) -> str:
    """Short sentences, one post at a time, the reference spelled out to note down."""
    hood = board.neighbourhood
    if not board.posts:
        return f"In {hood.name} staan op dit moment geen oproepen.\n"
    lines = [f"In {hood.name} staan {len(board.posts)} oproepen.", ""]
    for i, row in enumerate(_rows(board), start=1):
        spelled = " ".join(row["ref"])
        by = f" Van {row['organisation']}." if row["organisation"] else ""
        lines.append(
            f"{i}. {row['kind']}: {row['category']}. {row['text']} Wanneer: {row['when']}.{by} "
            f"Nummer: {spelled}."
        )
    lines += ["", "Wilt u reageren? Noem het nummer, dan regel ik het voor u."]
    return "\n".join(lines) + "\n"
