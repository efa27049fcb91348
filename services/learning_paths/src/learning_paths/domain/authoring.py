"""Authoring in Markdown: one document per variant, a small front matter per step.

The format non-technical editors write (docs: README "Writing a module"):

    ---
    title: Stress de baas
    summary: Vijf korte stappen om stress te herkennen en te verminderen.
    theme: stress
    dimensions: [mental_wellbeing]
    ---

    ---
    id: wat-is-stress
    kind: text
    title: Wat is stress?
    video: https://video.example/stress
    ---
    Stress is de reactie van je lichaam op ...

    ---
    kind: checklist
    title: Wat merk ik bij mezelf?
    ---
    - [ ] Ik slaap slecht
    - [ ] Ik pieker veel

A front matter block starts with a line `---` (at the top or after an empty line) followed by a
`key: value` line, and ends at the next `---` line. The first block without `kind` is the
module's header. Steps without an `id` get `stap-<n>`. Markdown horizontal rules are written
`***` (a `---` line followed by `key:` starts a new step). Paths name modules as items:
`kind: module` with `module: <slug>`; their header lists `entry_points`.

Parsing never raises on the first problem: every issue is collected with its path
(`steps[2].questions[0].answer`) and line, so an editor fixes them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from wijkkracht_common.texts import Text

from learning_paths.domain.content import (
    CODE,
    SLUG,
    STEP_KINDS,
    ContentKind,
    EntryPoint,
    Media,
    PathItem,
    QuizOption,
    QuizQuestion,
    Step,
)
from learning_paths.domain.errors import InvalidContent, Issue

MAX_STEPS = 2_000
MAX_SOURCE_CHARS = 2_000_000
_KEY_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*\s*:")
_TASK = re.compile(r"^\s*[-*]\s+\[[ xX]?\]\s+(.+?)\s*$")
DEFAULT_PROMPTS = (
    "Wat wil ik bereiken?",
    "Wat is mijn eerste stap?",
    "Wie of wat kan mij daarbij helpen?",
)

_HEADER_KEYS = {"title", "summary", "theme", "dimensions", "entry_points"}
_COMMON_KEYS = {"id", "kind", "title", "minutes"}
_KIND_KEYS: dict[str, set[str]] = {
    "text": {"image", "video", "media"},
    "exercise": set(),
    "quiz": {"questions", "pass_score"},
    "checklist": {"items"},
    "plan": {"prompts"},
    "local_offer": {"categories", "dimensions"},
    "module": {"module"},
}


@dataclass
class _Block:
    meta: dict[str, Any]
    line: int
    body: str
    broken: bool = False  # its front matter could not be read (one issue already says so)


@dataclass
class ParsedSource:
    """What a Markdown source says (steps of a module; items of a path)."""

    title: str
    summary: str
    theme: str | None
    dimensions: tuple[str, ...]
    steps: tuple[Step, ...] = ()
    items: tuple[PathItem, ...] = ()
    entry_points: tuple[EntryPoint, ...] = ()


@dataclass
class _Issues:
    found: list[Issue] = field(default_factory=list)

    def add(self, path: str, code: str, nl: str, en: str, line: int | None = None) -> None:
        self.found.append(Issue(path, code, Text(nl, en), line))


def _split(source: str, issues: _Issues) -> list[_Block]:
    lines = source.splitlines()
    blocks: list[_Block] = []
    i = 0
    body: list[str] = []
    current: _Block | None = None
    while i < len(lines):
        line = lines[i]
        starts = (
            line.strip() == "---"
            and (i == 0 or not lines[i - 1].strip())
            and i + 1 < len(lines)
            and _KEY_LINE.match(lines[i + 1]) is not None
        )
        if not starts:
            body.append(line)
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "---"), None)
        if end is None:
            issues.add(
                f"line {i + 1}",
                "unclosed_front_matter",
                "Het blok met instellingen wordt niet afgesloten met ---.",
                "The front matter block is not closed with ---.",
                i + 1,
            )
            break
        if current is not None:
            current.body = "\n".join(body).strip("\n")
        elif any(b.strip() for b in body):
            issues.add(
                "line 1",
                "text_before_front_matter",
                "Tekst vóór het eerste blok met instellingen (begin met ---).",
                "Text before the first front matter block (start with ---).",
                1,
            )
        body = []
        broken = False
        try:
            meta = yaml.safe_load("\n".join(lines[i + 1 : end]))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            at = i + 2 + (mark.line if mark is not None else 0)
            problem = getattr(error, "problem", None) or "syntax"
            issues.add(
                f"line {at}",
                "front_matter_syntax",
                f"De instellingen op regel {at} zijn niet leesbaar ({problem}). Tip: zet tekst "
                "met : ? [ ] , of # tussen aanhalingstekens.",
                f"The front matter on line {at} cannot be read ({problem}). Tip: put text "
                "holding : ? [ ] , or # between quotes.",
                at,
            )
            meta, broken = {}, True
        if not isinstance(meta, dict) and not broken:
            issues.add(
                f"line {i + 2}",
                "front_matter_syntax",
                "De instellingen moeten regels 'naam: waarde' zijn.",
                "The front matter must be 'key: value' lines.",
                i + 2,
            )
            meta, broken = {}, True
        current = _Block({str(k): v for k, v in meta.items()}, i + 1, "", broken)
        blocks.append(current)
        i = end + 1
    if current is not None:
        current.body = "\n".join(body).strip("\n")
    elif source.strip():
        issues.add(
            "line 1",
            "no_front_matter",
            "Geen blok met instellingen gevonden (begin met ---).",
            "No front matter block found (start with ---).",
            1,
        )
    return blocks


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    return None


def _text_list(
    value: Any, path: str, issues: _Issues, line: int, *, codes: bool = False
) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        issues.add(path, "not_a_list", "Verwacht een lijst.", "Expected a list.", line)
        return ()
    out: list[str] = []
    for n, item in enumerate(value):
        text = _text(item)
        if not text:
            issues.add(f"{path}[{n}]", "empty", "Lege waarde.", "Empty value.", line)
            continue
        if codes and not CODE.fullmatch(text):
            issues.add(
                f"{path}[{n}]",
                "invalid_code",
                f"'{text}' is geen geldige code (kleine letters, cijfers, _ . -).",
                f"'{text}' is not a valid code (lower case letters, digits, _ . -).",
                line,
            )
            continue
        out.append(text)
    return tuple(out)


def _url(value: Any, path: str, issues: _Issues, line: int) -> str | None:
    text = _text(value)
    if not text or not re.match(r"^https?://[^\s]+$", text):
        issues.add(
            path,
            "invalid_url",
            "Een link begint met https:// (of http://).",
            "A link starts with https:// (or http://).",
            line,
        )
        return None
    return text


def _media(meta: Mapping[str, Any], path: str, issues: _Issues, line: int) -> tuple[Media, ...]:
    media: list[Media] = []
    for kind in ("image", "video"):
        if kind in meta:
            url = _url(meta[kind], f"{path}.{kind}", issues, line)
            if url:
                media.append(Media(kind=kind, url=url))
    raw = meta.get("media")
    if raw is None:
        return tuple(media)
    if not isinstance(raw, list):
        issues.add(f"{path}.media", "not_a_list", "Verwacht een lijst.", "Expected a list.", line)
        return tuple(media)
    for n, entry in enumerate(raw):
        at = f"{path}.media[{n}]"
        if not isinstance(entry, dict) or entry.get("kind") not in ("image", "video"):
            issues.add(
                at,
                "invalid_media",
                "Geef kind (image of video) en url.",
                "Give kind (image or video) and url.",
                line,
            )
            continue
        url = _url(entry.get("url"), f"{at}.url", issues, line)
        if url:
            media.append(Media(kind=entry["kind"], url=url, alt=_text(entry.get("alt")) or ""))
    return tuple(media)


def _questions(
    meta: Mapping[str, Any], path: str, issues: _Issues, line: int
) -> tuple[QuizQuestion, ...]:
    raw = meta.get("questions")
    if not isinstance(raw, list) or not raw:
        issues.add(
            f"{path}.questions",
            "required",
            "Een quiz heeft minstens één vraag (questions).",
            "A quiz has at least one question (questions).",
            line,
        )
        return ()
    questions: list[QuizQuestion] = []
    for n, entry in enumerate(raw):
        at = f"{path}.questions[{n}]"
        if not isinstance(entry, dict):
            issues.add(at, "invalid_question", "Verwacht een vraag.", "Expected a question.", line)
            continue
        text = _text(entry.get("question", entry.get("text")))
        if not text:
            issues.add(
                f"{at}.question", "required", "De vraag ontbreekt.", "Question missing.", line
            )
        options = _text_list(entry.get("options"), f"{at}.options", issues, line)
        if len(options) < 2:
            issues.add(
                f"{at}.options",
                "too_few_options",
                "Geef minstens twee antwoorden.",
                "Give at least two options.",
                line,
            )
        answer = entry.get("answer", entry.get("answers"))
        answers = answer if isinstance(answer, list) else [answer]
        good: set[int] = set()
        for value in answers:
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 1 <= value <= len(options)
            ):
                issues.add(
                    f"{at}.answer",
                    "invalid_answer",
                    f"Het goede antwoord is een nummer van 1 tot en met {len(options)}.",
                    f"The right answer is a number from 1 to {len(options)}.",
                    line,
                )
                good = set()
                break
            good.add(value)
        if text and len(options) >= 2 and good:
            questions.append(
                QuizQuestion(
                    id=f"q{n + 1}",
                    text=text,
                    options=tuple(
                        QuizOption(text=o, correct=(k + 1) in good) for k, o in enumerate(options)
                    ),
                )
            )
    return tuple(questions)


def _number(
    meta: Mapping[str, Any],
    key: str,
    path: str,
    issues: _Issues,
    line: int,
    low: float,
    high: float,
) -> float | None:
    if key not in meta:
        return None
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        issues.add(
            f"{path}.{key}",
            "out_of_range",
            f"Verwacht een getal van {low:g} tot en met {high:g}.",
            f"Expected a number from {low:g} to {high:g}.",
            line,
        )
        return None
    return float(value)


def _step(
    block: _Block, position: int, path: str, issues: _Issues, *, in_path: bool
) -> Step | PathItem | None:
    meta, line = block.meta, block.line
    if block.broken:
        return None
    kind = _text(meta.get("kind"))
    allowed_kinds = (*STEP_KINDS, "module") if in_path else STEP_KINDS
    if kind not in allowed_kinds:
        issues.add(
            f"{path}.kind",
            "invalid_kind",
            f"Soort stap moet een van {', '.join(allowed_kinds)} zijn.",
            f"Step kind must be one of {', '.join(allowed_kinds)}.",
            line,
        )
        return None
    for key in sorted(set(meta) - _COMMON_KEYS - _KIND_KEYS[kind]):
        issues.add(
            f"{path}.{key}",
            "unknown_key",
            f"Onbekende instelling '{key}' voor een stap van soort {kind}.",
            f"Unknown setting '{key}' for a step of kind {kind}.",
            line,
        )
    step_id = _text(meta.get("id")) or f"stap-{position}"
    if not SLUG.fullmatch(step_id):
        issues.add(
            f"{path}.id",
            "invalid_id",
            "Een id is kleine letters, cijfers en streepjes.",
            "An id is lower case letters, digits and dashes.",
            line,
        )
        return None
    title = _text(meta.get("title"))
    if kind == "module":
        slug = _text(meta.get("module"))
        if not slug or not SLUG.fullmatch(slug):
            issues.add(
                f"{path}.module",
                "required",
                "Noem de module (module: <code van de module>).",
                "Name the module (module: <the module's code>).",
                line,
            )
            return None
        return PathItem(position=position, module_slug=slug, title=title)
    if not title or len(title) > 200:
        issues.add(
            f"{path}.title",
            "required",
            "Elke stap heeft een titel (hoogstens 200 tekens).",
            "Every step has a title (at most 200 characters).",
            line,
        )
        return None
    minutes = _number(meta, "minutes", path, issues, line, 1, 600)
    body = block.body
    fields: dict[str, Any] = {}
    if kind == "text":
        fields["media"] = _media(meta, path, issues, line)
        if not body.strip() and not fields["media"]:
            issues.add(
                f"{path}.body",
                "required",
                "Een tekststap heeft tekst of een afbeelding/video.",
                "A text step has text or an image/video.",
                line,
            )
    elif kind == "exercise" and not body.strip():
        issues.add(
            f"{path}.body",
            "required",
            "Beschrijf de oefening onder de instellingen.",
            "Describe the exercise below the front matter.",
            line,
        )
    elif kind == "quiz":
        fields["questions"] = _questions(meta, path, issues, line)
        pass_score = _number(meta, "pass_score", path, issues, line, 0, 1)
        if pass_score is not None:
            fields["pass_score"] = pass_score
    elif kind == "checklist":
        items = list(_text_list(meta.get("items"), f"{path}.items", issues, line))
        kept: list[str] = []
        for text_line in body.splitlines():
            match = _TASK.match(text_line)
            if match:
                items.append(match.group(1))
            else:
                kept.append(text_line)
        body = "\n".join(kept).strip("\n")
        if not items:
            issues.add(
                f"{path}.items",
                "required",
                "Een checklist heeft punten (regels '- [ ] ...').",
                "A checklist has items (lines '- [ ] ...').",
                line,
            )
        fields["items"] = tuple(items)
    elif kind == "plan":
        prompts = _text_list(meta.get("prompts"), f"{path}.prompts", issues, line)
        fields["prompts"] = prompts or DEFAULT_PROMPTS
    elif kind == "local_offer":
        fields["categories"] = _text_list(
            meta.get("categories"), f"{path}.categories", issues, line, codes=True
        )
        fields["dimensions"] = _text_list(
            meta.get("dimensions"), f"{path}.dimensions", issues, line, codes=True
        )
        if not fields["categories"] and not fields["dimensions"]:
            issues.add(
                f"{path}.categories",
                "required",
                "Noem categorieën of dimensies van de sociale kaart.",
                "Name social map categories or dimensions.",
                line,
            )
    step = Step(
        id=step_id,
        kind=kind,  # type: ignore[arg-type]
        title=title,
        body=body,
        minutes=int(minutes) if minutes is not None else None,
        item=position,
        **fields,
    )
    return PathItem(position=position, step=step) if in_path else step


def _entry_points(raw: Any, item_count: int, issues: _Issues, line: int) -> tuple[EntryPoint, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        issues.add("entry_points", "not_a_list", "Verwacht een lijst.", "Expected a list.", line)
        return ()
    points: list[EntryPoint] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw):
        at = f"entry_points[{n}]"
        if not isinstance(entry, dict):
            issues.add(at, "invalid", "Verwacht key en item.", "Expected key and item.", line)
            continue
        key, item = _text(entry.get("key")), entry.get("item", entry.get("step"))
        if not key or not SLUG.fullmatch(key) or key in seen:
            issues.add(
                f"{at}.key",
                "invalid_key",
                "Elk instappunt heeft een eigen code (key).",
                "Every entry point has its own code (key).",
                line,
            )
            continue
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= item_count:
            issues.add(
                f"{at}.item",
                "out_of_range",
                f"De stap van een instappunt is 1 tot en met {item_count}.",
                f"An entry point's step is 1 to {item_count}.",
                line,
            )
            continue
        seen.add(key)
        points.append(EntryPoint(key=key, item=item, label=_text(entry.get("label")) or ""))
    return tuple(points)


def parse_source(source: str, kind: ContentKind) -> ParsedSource:
    """Parse a variant's Markdown; raises `InvalidContent` with every issue found."""
    issues = _Issues()
    if len(source) > MAX_SOURCE_CHARS:
        raise InvalidContent.single(
            "source", "too_long", Text("De tekst is te lang.", "The source is too long.")
        )
    blocks = _split(source, issues)
    header = blocks[0] if blocks and "kind" not in blocks[0].meta and not blocks[0].broken else None
    if header is None:
        issues.add(
            "title",
            "required",
            "Begin met een blok met de titel (title:) van de module.",
            "Start with a block holding the module's title (title:).",
            1,
        )
        header = _Block({}, 1, "")
    else:
        blocks = blocks[1:]
    meta = header.meta
    allowed = _HEADER_KEYS if kind == "path" else _HEADER_KEYS - {"entry_points"}
    for key in sorted(set(meta) - allowed):
        issues.add(
            key,
            "unknown_key",
            f"Onbekende instelling '{key}'.",
            f"Unknown setting '{key}'.",
            header.line,
        )
    title = _text(meta.get("title")) or ""
    if header.meta and (not title or len(title) > 200):
        issues.add(
            "title",
            "required",
            "Geef een titel van hoogstens 200 tekens.",
            "Give a title of at most 200 characters.",
            header.line,
        )
    summary = _text(meta.get("summary")) or header.body.strip()
    theme = _text(meta.get("theme"))
    if theme is not None and not CODE.fullmatch(theme):
        issues.add(
            "theme",
            "invalid_code",
            "Een thema is een code (kleine letters, cijfers, _ . -).",
            "A theme is a code (lower case letters, digits, _ . -).",
            header.line,
        )
        theme = None
    dimensions = _text_list(meta.get("dimensions"), "dimensions", issues, header.line, codes=True)
    if not blocks:
        issues.add(
            "steps",
            "required",
            "Voeg minstens één stap toe.",
            "Add at least one step.",
            header.line,
        )
    if len(blocks) > MAX_STEPS:
        issues.add(
            "steps",
            "too_many",
            f"Hoogstens {MAX_STEPS} stappen.",
            f"At most {MAX_STEPS} steps.",
            header.line,
        )
        blocks = blocks[:MAX_STEPS]
    parsed: list[Step | PathItem] = []
    for n, block in enumerate(blocks):
        made = _step(block, n + 1, f"steps[{n}]", issues, in_path=kind == "path")
        if made is not None:
            parsed.append(made)
    seen_ids: set[str] = set()
    for n, block in enumerate(blocks):
        block_id = _text(block.meta.get("id")) or f"stap-{n + 1}"
        if block.broken or block.meta.get("kind") == "module":
            continue
        if block_id in seen_ids:
            issues.add(
                f"steps[{n}].id",
                "duplicate_id",
                f"De id '{block_id}' komt twee keer voor.",
                f"The id '{block_id}' occurs twice.",
                block.line,
            )
        seen_ids.add(block_id)
    entry_points = (
        _entry_points(meta.get("entry_points"), len(blocks), issues, header.line)
        if kind == "path"
        else ()
    )
    if issues.found:
        raise InvalidContent(issues.found)
    if kind == "path":
        return ParsedSource(
            title=title,
            summary=summary,
            theme=theme,
            dimensions=dimensions,
            items=tuple(p for p in parsed if isinstance(p, PathItem)),
            entry_points=entry_points,
        )
    return ParsedSource(
        title=title,
        summary=summary,
        theme=theme,
        dimensions=dimensions,
        steps=tuple(p for p in parsed if isinstance(p, Step)),
    )


def check_same_steps(variants: Mapping[str, Sequence[Step]]) -> None:
    """Every variant has the Dutch variant's steps (ids and kinds, in order)."""
    base = variants.get("nl")
    if base is None:
        raise InvalidContent.single(
            "variants.nl",
            "required",
            Text("De Nederlandse variant (nl) ontbreekt.", "The Dutch variant (nl) is missing."),
        )
    shape = [(s.id, s.kind) for s in base]
    issues: list[Issue] = []
    for name, steps in variants.items():
        other = [(s.id, s.kind) for s in steps]
        if other != shape:
            issues.append(
                Issue(
                    f"variants.{name}.steps",
                    "steps_differ",
                    Text(
                        f"De variant {name} heeft andere stappen dan nl (id en soort, in volgorde"
                        f"): {', '.join(i for i, _ in other)} tegenover "
                        f"{', '.join(i for i, _ in shape)}.",
                        f"The variant {name} has other steps than nl (id and kind, in order): "
                        f"{', '.join(i for i, _ in other)} versus "
                        f"{', '.join(i for i, _ in shape)}.",
                    ),
                )
            )
    if issues:
        raise InvalidContent(issues)


def render_source(
    *,
    title: str,
    summary: str,
    theme: str | None,
    dimensions: Sequence[str],
    steps: Sequence[Step],
) -> str:
    """A Markdown source for steps that came from elsewhere (a cmi5 import): what an editor
    then edits. `parse_source(render_source(...))` gives the same steps back."""
    header: dict[str, Any] = {"title": title}
    if summary:
        header["summary"] = summary
    if theme:
        header["theme"] = theme
    if dimensions:
        header["dimensions"] = list(dimensions)
    parts = [_front_matter(header)]
    for step in steps:
        meta: dict[str, Any] = {"id": step.id, "kind": step.kind, "title": step.title}
        if step.minutes:
            meta["minutes"] = step.minutes
        body = step.body
        if step.kind == "text" and step.media:
            meta["media"] = [
                {"kind": m.kind, "url": m.url, **({"alt": m.alt} if m.alt else {})}
                for m in step.media
            ]
        elif step.kind == "quiz":
            meta["questions"] = [
                {
                    "question": q.text,
                    "options": [o.text for o in q.options],
                    "answer": [k + 1 for k, o in enumerate(q.options) if o.correct],
                }
                for q in step.questions
            ]
            if step.pass_score:
                meta["pass_score"] = step.pass_score
        elif step.kind == "checklist":
            meta["items"] = list(step.items)
        elif step.kind == "plan":
            meta["prompts"] = list(step.prompts)
        elif step.kind == "local_offer":
            if step.categories:
                meta["categories"] = list(step.categories)
            if step.dimensions:
                meta["dimensions"] = list(step.dimensions)
        parts.append(_front_matter(meta) + (f"\n{body}" if body else ""))
    return "\n\n".join(parts) + "\n"


def _front_matter(meta: Mapping[str, Any]) -> str:
    dumped = yaml.safe_dump(dict(meta), allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{dumped}---"
