"""HTML of steps: the print view (for residents who work on paper) and the editor's preview.

Written for low-literacy readers: large type, short lines, plenty of white space, an empty
writing area for exercises and plans, tick boxes for checklists and quizzes, and a print
stylesheet (A4, black on white, no page break inside a question). Markdown is rendered
without raw HTML (an editor's `<script>` stays text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jinja2 import Environment
from learning_paths.adapters.social_map import LocalOffer
from learning_paths.domain.answers import Answer
from learning_paths.domain.content import Step, VariantContent
from markdown_it import MarkdownIt
from markupsafe import Markup

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def markdown_html(text: str) -> str:
    return str(_MARKDOWN.render(text))


@dataclass(frozen=True)
class Labels:
    lang: str
    print_button: str
    step: str
    of: str
    your_answer: str
    write_here: str
    tick: str
    offers: str
    no_offers: str
    video: str
    minutes: str
    preview: str


LABELS: Mapping[str, Labels] = {
    "nl": Labels(
        "nl",
        "Afdrukken",
        "Stap",
        "van",
        "Uw antwoord",
        "Schrijf hier:",
        "Zet een kruisje",
        "In uw buurt",
        "Vraag uw sociaal werker naar activiteiten in uw buurt.",
        "Video",
        "minuten",
        "Voorbeeld (concept)",
    ),
    "en": Labels(
        "en",
        "Print",
        "Step",
        "of",
        "Your answer",
        "Write here:",
        "Tick a box",
        "Near you",
        "Ask your social worker about activities near you.",
        "Video",
        "minutes",
        "Preview (draft)",
    ),
}

_STYLE = """
body { font-family: Verdana, Arial, sans-serif; font-size: 20px; line-height: 1.6;
       color: #000; background: #fff; max-width: 42em; margin: 1em auto; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 1.5em; border-bottom: 2px solid #000; }
.meta { color: #333; }
.box { display: inline-block; width: 1em; height: 1em; border: 2px solid #000;
       margin-right: .6em; vertical-align: middle; }
.box.checked::after { content: "✓"; display: block; line-height: 1em; text-align: center; }
ul.ticks { list-style: none; padding: 0; } ul.ticks li { padding: .3em 0; }
.lines div { border-bottom: 1px solid #000; height: 2em; }
.answer { border-left: 4px solid #000; padding-left: .8em; white-space: pre-wrap; }
@media print {
  @page { size: A4; margin: 15mm; }
  body { font-size: 14pt; max-width: none; margin: 0; }
  .no-print { display: none; }
  li, .question, .lines, section { page-break-inside: avoid; break-inside: avoid; }
}
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ l.lang }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ heading }}</title><style>{{ style }}</style></head>
<body>
{% if preview %}<p class="no-print"><strong>{{ l.preview }}</strong></p>{% endif %}
<p class="meta">{{ module_title }}</p>
<button class="no-print" type="button" onclick="window.print()">{{ l.print_button }}</button>
{% for s in steps %}
<section>
<h1>{{ l.step }} {{ s.number }} {{ l.of }} {{ total }}: {{ s.step.title }}</h1>
{% if s.step.minutes %}<p class="meta">± {{ s.step.minutes }} {{ l.minutes }}</p>{% endif %}
{{ s.body }}
{% for m in s.step.media %}
{% if m.kind == "image" %}<p><img src="{{ m.url }}" alt="{{ m.alt }}" style="max-width:100%"></p>
{% else %}<p>{{ l.video }}: {{ m.url }}</p>{% endif %}
{% endfor %}
{% if s.step.kind == "checklist" %}<p>{{ l.tick }}:</p><ul class="ticks">
{% for item in s.step.items %}<li><span class="box
{%- if loop.index in s.checked %} checked{% endif %}"></span>{{ item }}</li>{% endfor %}</ul>
{% endif %}
{% if s.step.kind == "quiz" %}{% for q in s.step.questions %}<div class="question">
<h2>{{ loop.index }}. {{ q.text }}</h2><ul class="ticks">
{% set picked = s.choices.get(q.id, ()) %}
{% for o in q.options %}<li><span class="box
{%- if loop.index in picked %} checked{% endif %}"></span>{{ o.text }}</li>{% endfor %}</ul>
</div>{% endfor %}{% endif %}
{% if s.step.kind == "exercise" %}<h2>{{ l.your_answer }}</h2>
{% if s.text %}<div class="answer">{{ s.text }}</div>
{% else %}<p>{{ l.write_here }}</p>
<div class="lines">{% for _ in range(8) %}<div></div>{% endfor %}</div>
{% endif %}{% endif %}
{% if s.step.kind == "plan" %}{% for p in s.step.prompts %}<h2>{{ p }}</h2>
{% set written = s.plan.get(loop.index|string) %}
{% if written %}<div class="answer">{{ written }}</div>
{% else %}<div class="lines">{% for _ in range(4) %}<div></div>{% endfor %}</div>{% endif %}
{% endfor %}{% endif %}
{% if s.step.kind == "local_offer" %}<h2>{{ l.offers }}</h2>
{% if s.offers %}<ul>{% for o in s.offers %}<li><strong>{{ o.name }}</strong>
{% if o.distance_km is not none %} ({{ "%.1f"|format(o.distance_km) }} km){% endif %}
{% if o.description %}<br>{{ o.description }}{% endif %}</li>{% endfor %}</ul>
{% else %}<p>{{ l.no_offers }}</p>{% endif %}{% endif %}
</section>
{% endfor %}
</body></html>
"""

_ENV = Environment(autoescape=True)
_PAGE = _ENV.from_string(_TEMPLATE)


@dataclass(frozen=True)
class StepPage:
    number: int
    step: Step
    body: Markup
    text: str | None
    plan: Mapping[str, str]
    checked: Sequence[int]
    choices: Mapping[str, Sequence[int]]
    offers: Sequence[LocalOffer]


def page(
    content: VariantContent,
    steps: Sequence[Step],
    *,
    answers: Mapping[str, Answer] | None = None,
    offers: Mapping[str, Sequence[LocalOffer]] | None = None,
    preview: bool = False,
) -> str:
    """The HTML of `steps` of one variant (one step for a print view, all for a preview)."""
    labels = LABELS["en" if content.variant == "en" else "nl"]
    numbers = {s.id: n + 1 for n, s in enumerate(content.steps)}
    rows = []
    for step in steps:
        answer = (answers or {}).get(step.id)
        rows.append(
            StepPage(
                number=numbers.get(step.id, 1),
                step=step,
                body=Markup(markdown_html(step.body)),  # noqa: S704 - rendered without raw HTML
                text=answer.text if answer else None,
                plan=answer.plan if answer else {},
                checked=answer.checked if answer else (),
                choices=answer.choices if answer else {},
                offers=(offers or {}).get(step.id, ()),
            )
        )
    heading = steps[0].title if len(steps) == 1 else content.title
    return _PAGE.render(
        l=labels,
        heading=heading,
        module_title=content.title,
        steps=rows,
        total=len(content.steps),
        style=_STYLE,
        preview=preview,
    )
