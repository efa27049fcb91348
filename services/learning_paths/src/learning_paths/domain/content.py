"""Learning content: modules (a short sequence of steps on one theme) and long paths (a
sequence of steps or modules with entry points), versioned and in variants.

A content item has versions; each version is a draft until published, then frozen. Residents
follow the version they started (unless moved to a newer one). Every version holds one
`VariantContent` per language variant (`nl`, `nl-simple`, `en`); all variants of a version
have the same steps (ids and kinds), so progress does not depend on the variant read.

A path's published version carries its modules' steps copied in (ids `<item>.<step>`), so a
resident's path stays as it was when they started, whatever happens to the modules later.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ContentKind = Literal["module", "path"]
Scope = Literal["organisation", "tenant"]
VersionStatus = Literal["draft", "published"]
Variant = Literal["nl", "nl-simple", "en"]
VARIANTS: tuple[Variant, ...] = ("nl", "nl-simple", "en")
DEFAULT_VARIANT: Variant = "nl"
StepKind = Literal["text", "exercise", "quiz", "checklist", "plan", "local_offer"]
STEP_KINDS: tuple[StepKind, ...] = ("text", "exercise", "quiz", "checklist", "plan", "local_offer")
#: Steps whose answer is the resident's own free text (never in events, never shown to staff
#: unless the resident shares the step).
FREE_TEXT_KINDS: frozenset[StepKind] = frozenset({"exercise", "plan"})

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}(\.[a-z0-9][a-z0-9-]{0,62})?$")
CODE = re.compile(r"^[a-z][a-z0-9_.-]{0,60}$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Media(Frozen):
    """An image or a video link shown with a text step."""

    kind: Literal["image", "video"]
    url: str = Field(max_length=2000)
    alt: str = Field(default="", max_length=300)


class QuizOption(Frozen):
    text: str = Field(min_length=1, max_length=500)
    correct: bool = False


class QuizQuestion(Frozen):
    id: str
    text: str = Field(min_length=1, max_length=1000)
    options: tuple[QuizOption, ...]


class Step(Frozen):
    """One step. Which fields apply depends on `kind`; authoring checks them."""

    id: str = Field(pattern=STEP_ID.pattern)
    kind: StepKind
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=50_000, description="Markdown")
    minutes: int | None = Field(default=None, ge=1, le=600)
    media: tuple[Media, ...] = ()
    questions: tuple[QuizQuestion, ...] = ()  # quiz
    pass_score: float = Field(default=0.0, ge=0.0, le=1.0)  # quiz: share of correct answers
    items: tuple[str, ...] = ()  # checklist
    prompts: tuple[str, ...] = ()  # plan ("Mijn plan") sections
    categories: tuple[str, ...] = ()  # local offer: social map category codes
    dimensions: tuple[str, ...] = ()  # local offer: dimension codes
    #: In a path: the 1-based position of the path item the step belongs to.
    item: int = Field(default=1, ge=1)
    #: In a path: the module the step was copied from (and its version).
    module_id: str | None = None
    module_version: int | None = None

    @property
    def keeps_free_text(self) -> bool:
        return self.kind in FREE_TEXT_KINDS


class EntryPoint(Frozen):
    """Where a resident may enter a path: its `item` (1-based) and a plain-words label."""

    key: str = Field(pattern=SLUG.pattern)
    item: int = Field(ge=1)
    label: str = Field(default="", max_length=300)


class PathItem(Frozen):
    """A path item as authored: a step of its own, or a module (by slug)."""

    position: int = Field(ge=1)
    step: Step | None = None
    module_slug: str | None = None
    title: str | None = None


class VariantContent(Frozen):
    """One language variant of a version: what the resident reads, and the Markdown source
    it was authored in (export and editing start from the source)."""

    variant: Variant
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=2000)
    steps: tuple[Step, ...]
    source: str
    items: tuple[PathItem, ...] = ()  # paths only, as authored (modules by slug)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


class ContentVersion(Frozen):
    content_id: str
    version: int = Field(ge=1)
    status: VersionStatus
    variants: dict[str, VariantContent]
    entry_points: tuple[EntryPoint, ...] = ()
    created_at: datetime
    created_by: str
    published_at: datetime | None = None

    def variant(self, wanted: str | None) -> VariantContent:
        """The wanted variant, else Dutch (always present once published)."""
        if wanted and wanted in self.variants:
            return self.variants[wanted]
        if DEFAULT_VARIANT in self.variants:
            return self.variants[DEFAULT_VARIANT]
        return next(iter(self.variants.values()))

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps (ids, kinds, items) shared by every variant."""
        return self.variant(DEFAULT_VARIANT).steps

    def step_ids(self) -> list[str]:
        return [s.id for s in self.steps]

    def entry_step(self, key: str | None) -> str:
        """First step of the entry point `key` (the first step when None or unknown)."""
        steps = self.steps
        point = next((p for p in self.entry_points if p.key == key), None)
        if point is not None:
            for step in steps:
                if step.item >= point.item:
                    return step.id
        return steps[0].id

    def item_of(self, step_id: str) -> int:
        step = self.variant(None).step(step_id)
        return step.item if step is not None else 1


class Content(Frozen):
    """The catalogue record of a module or path (its versions are stored beside it)."""

    id: str
    kind: ContentKind
    slug: str = Field(pattern=SLUG.pattern)
    organisation: str
    scope: Scope = "organisation"
    theme: str | None = Field(default=None, pattern=CODE.pattern)
    dimensions: tuple[str, ...] = ()
    title: str
    latest_version: int = Field(ge=1)
    published_version: int | None = None
    variants: tuple[str, ...] = ()
    step_count: int = 0
    created_at: datetime
    updated_at: datetime

    @property
    def is_published(self) -> bool:
        return self.published_version is not None

    @property
    def has_draft(self) -> bool:
        return self.published_version != self.latest_version
