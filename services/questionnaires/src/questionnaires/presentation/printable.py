"""Printable summary for the appointment: answers, "I want to talk about this" topics and the
chart. Written for low-literacy readers: large type, one question per row, no jargon, plenty of
white space, and a print stylesheet (A4, black on white, no page break inside a question)."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from markupsafe import Markup

from questionnaires.domain.answers import ItemAnswer
from questionnaires.domain.definition import InstrumentDefinition, Item
from questionnaires.domain.errors import DefinitionMismatch
from questionnaires.domain.i18n import Language
from questionnaires.domain.response import Response
from questionnaires.presentation import labels as L
from questionnaires.presentation.spider_chart import (
    axes_for,
    render_score_table,
    render_spider_chart,
    series_for,
)

_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: Verdana, Arial, sans-serif; font-size: 20px; line-height: 1.6;
       color: #000; background: #fff; max-width: 42em; margin: 1em auto; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 1.5em; border-bottom: 2px solid #000; }
ul.talk { list-style: none; padding: 0; }
ul.talk li { padding: .4em 0 .4em 2em; position: relative; }
ul.talk li::before { content: ""; position: absolute; left: 0; top: .6em;
                     width: 1em; height: 1em; border: 2px solid #000; }
dl.answers dt { font-weight: bold; margin-top: 1em; }
dl.answers dd { margin: 0 0 .5em 0; }
.talk-mark { font-weight: bold; }
table.scores { border-collapse: collapse; margin: 1em 0; }
table.scores th, table.scores td { border: 1px solid #000; padding: .3em .8em; text-align: left; }
.chart svg { max-width: 100%; height: auto; }
.notes div { border-bottom: 1px solid #000; height: 2em; }
@media print {
  @page { size: A4; margin: 15mm; }
  body { font-size: 14pt; max-width: none; margin: 0; }
  .no-print { display: none; }
  dt, dd, li, tr, .chart { page-break-inside: avoid; break-inside: avoid; }
}
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>{{ filled_in }}{% if assisted %}<br>{{ assisted }}{% endif %}</p>
<button class="no-print" type="button" onclick="window.print()">{{ print_label }}</button>
<h2>{{ talk_heading }}</h2>
{% if talk %}<ul class="talk">{% for topic in talk %}<li>{{ topic }}</li>{% endfor %}</ul>
{% else %}<p>{{ nothing_to_talk }}</p>{% endif %}
{% if chart %}<h2>{{ result_heading }}</h2>
<div class="chart">{{ chart }}</div>
{{ table }}{% endif %}
<h2>{{ answers_heading }}</h2>
{% for group in groups %}<h3>{{ group.title }}</h3>
<dl class="answers">{% for row in group.rows %}<dt>{{ row.question }}</dt>
<dd>{{ row.answer }}{% if row.talk %}
 <span class="talk-mark">({{ talk_heading }})</span>{% endif %}</dd>
{% endfor %}</dl>
{% endfor %}
<h2>{{ notes_heading }}</h2>
<div class="notes"><div></div><div></div><div></div><div></div></div>
</body>
</html>
"""

_ENV = Environment(autoescape=True, keep_trailing_newline=True)
_PAGE = _ENV.from_string(_TEMPLATE)


@dataclass(frozen=True)
class _Row:
    question: str
    answer: str
    talk: bool


@dataclass(frozen=True)
class _GroupRows:
    title: str
    rows: list[_Row]


def render_printable_summary(
    definition: InstrumentDefinition,
    response: Response,
    *,
    language: Language | None = None,
    params: dict[str, str] | None = None,
    earlier: Response | None = None,
) -> str:
    """HTML page of one response; `earlier` (same family) adds the resident's trend to the chart."""
    if (definition.id, definition.version) != (response.instrument_id, response.version):
        raise DefinitionMismatch("definition does not match the response's version")
    lang: Language = language or response.language
    shown = definition.instantiate(params or {}) if definition.parameters else definition
    title = shown.title.get(lang)
    groups: list[_GroupRows] = []
    talk: list[str] = []
    for group in shown.groups:
        rows = []
        for item in group.items:
            answer = response.answers.get(item.link_id)
            if answer is None:
                continue
            question = item.text.get(lang)
            if answer.discussable:
                talk.append(question)
            rows.append(_Row(question, answer_text(item, answer, lang), answer.discussable))
        if rows:
            groups.append(_GroupRows(group.title.get(lang), rows))
    chart: Markup | None = None
    table: Markup | None = None
    if response.result is not None:
        axes = axes_for(response.result, lang)
        if len(axes) >= 3:
            series = []
            if earlier is not None and earlier.result is not None and earlier.submitted_at:
                series.append(
                    series_for(earlier.result, L.long_date(earlier.submitted_at.date(), lang))
                )
            when = response.submitted_at.date() if response.submitted_at else None
            series.append(series_for(response.result, L.long_date(when, lang) if when else title))
            # Our own generator output with every text escaped, so it may go in unescaped.
            svg = render_spider_chart(axes, series, title=title, language=lang)
            chart = Markup(svg)  # noqa: S704
            table = Markup(render_score_table(axes, series, language=lang))  # noqa: S704
    moment = response.submitted_at or response.updated_at
    return _PAGE.render(
        lang=lang,
        title=title,
        filled_in=f"{L.FILLED_IN_ON.get(lang)} {L.long_date(moment.date(), lang)}",
        assisted=L.FILLED_IN_WITH_HELP.get(lang) if response.assisted_by else None,
        print_label=L.PRINT.get(lang),
        talk_heading=L.TALK_ABOUT.get(lang),
        talk=talk,
        nothing_to_talk=L.NOTHING_TO_TALK.get(lang),
        result_heading=L.YOUR_RESULT.get(lang),
        chart=chart,
        table=table,
        answers_heading=L.YOUR_ANSWERS.get(lang),
        groups=groups,
        notes_heading=L.NOTES.get(lang),
    )


def answer_text(item: Item, answer: ItemAnswer, language: Language) -> str:
    """An answer as a person would say it: option labels, Ja/Nee, "7 van de 10"."""
    if answer.skipped:
        return L.SKIPPED.get(language)
    value = answer.value
    if value is None or (isinstance(value, str) and not value.strip()):
        return L.NOT_ANSWERED.get(language)
    if isinstance(value, bool):
        return (L.YES if value else L.NO).get(language)
    if item.answer_type == "scale_0_10":
        return f"{value} {L.OUT_OF_TEN.get(language)}"
    if isinstance(value, list):
        return ", ".join(_option_label(item, v, language) for v in value)
    if item.answer_type == "single_choice" and isinstance(value, str):
        return _option_label(item, value, language)
    if isinstance(value, float) and language == "nl":
        return str(value).replace(".", ",")
    return str(value)


def _option_label(item: Item, code: str, language: Language) -> str:
    option = item.option(code)
    return option.label.get(language) if option else code


__all__ = ["answer_text", "render_printable_summary"]
