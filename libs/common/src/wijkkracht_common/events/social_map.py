"""Events produced by the social map service (v1).

Identifiers and facts only: never reporters' notes, names, e-mail addresses or free text.
`organization_id` is the social map's owner record; `owner_organisation` is identity's
organisation slug when the owner is a member organisation (None for residents' initiatives).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from wijkkracht_common.events.common import PersonDataErasedBase, PersonDataExportedBase
from wijkkracht_common.events.envelope import EventData

EntryKind = Literal["service", "activity"]
FreshnessState = Literal["fresh", "due", "stale", "hidden"]


class _SocialMapEvent(EventData):
    producer: ClassVar[str] = "social_map"


class _EntryFacts(_SocialMapEvent):
    entry_id: str
    organization_id: str
    owner_organisation: str | None = None
    revision: int = 0


class EntryPublished(_EntryFacts):
    """A new entry (service or activity) appeared on the social map."""

    event_name: ClassVar[str] = "entry_published"
    kind: EntryKind
    category_codes: list[str] = []
    pc4s: list[str] = Field(default_factory=list, description="PC4s of the entry's locations")
    source: Literal["api", "import"] = "api"


class ImportedEntryFacts(BaseModel):
    """The facts of one new or changed entry of an import: ids and codes, no free text."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    entry_id: str
    organization_id: str
    owner_organisation: str | None = None
    kind: EntryKind
    category_codes: list[str] = []
    pc4s: list[str] = Field(default_factory=list, description="PC4s of the entry's locations")
    status: str
    freshness: FreshnessState = Field(default="fresh", description="the state when stored")
    revision: int = 0


class EntriesImported(_SocialMapEvent):
    """A batch of an HSDS import was stored: its new and changed entries with their facts
    (ids and codes, no content). One event per batch instead of one per entry keeps a
    50,000-entry import's writes down by half; `entries` spares consumers a fetch."""

    event_name: ClassVar[str] = "entries_imported"
    import_id: str
    batch: int = Field(ge=0)
    published: list[str] = Field(default_factory=list, description="ids of new entries")
    updated: list[str] = Field(default_factory=list, description="ids of changed entries")
    entries: list[ImportedEntryFacts] = Field(
        default_factory=list,
        description="facts of each entry in published + updated, in that order (empty in "
        "events of older producers)",
    )


class TaxonomyTermFacts(BaseModel):
    """One category of the tenant's taxonomy. Labels are public vocabulary, not personal text."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    parent_code: str | None = None
    labels: dict[str, str] = Field(description='{"nl": ..., "en": ...}')
    dimensions: list[str] = Field(
        default_factory=list, description="dimension codes of Positieve Gezondheid (own only)"
    )


class TaxonomyChanged(_SocialMapEvent):
    """The tenant's category tree as a whole (a snapshot, not a diff). Consumers keep the
    highest `version`; an equal version repeats the same content."""

    event_name: ClassVar[str] = "taxonomy_changed"
    version: int = Field(ge=0, description="0 = the default tree, never edited")
    terms: list[TaxonomyTermFacts]


class EntryUpdated(_EntryFacts):
    """An entry changed (content, schedule, location or categories)."""

    event_name: ClassVar[str] = "entry_updated"
    kind: EntryKind
    status: str
    category_codes: list[str] = []
    pc4s: list[str] = []
    source: Literal["api", "import"] = "api"


class EntryVerified(_EntryFacts):
    """The owner confirmed the entry is still correct (API or one-click mail link)."""

    event_name: ClassVar[str] = "entry_verified"
    assured_at: datetime
    via: Literal["api", "link"] = "api"
    previous_state: FreshnessState


class _FreshnessTransition(_EntryFacts):
    assured_at: datetime | None = None
    state: FreshnessState


class EntryVerificationDue(_FreshnessTransition):
    """An entry reached the reminder age: its owner is asked to verify it."""

    event_name: ClassVar[str] = "entry_verification_due"


class EntryWentStale(_FreshnessTransition):
    """An entry passed the stale age: it shows a warning until verified."""

    event_name: ClassVar[str] = "entry_went_stale"


class EntryHidden(_FreshnessTransition):
    """An entry passed the hidden age: it leaves search until re-verified."""

    event_name: ClassVar[str] = "entry_hidden"


class CorrectionReported(_EntryFacts):
    """Someone reported "dit klopt niet meer"; the note stays in the social map (no free text)."""

    event_name: ClassVar[str] = "correction_reported"
    report_id: str
    open_reports: int


class SocialMapPersonDataErased(PersonDataErasedBase):
    """The social map erased a person's data (reports, recommendations)."""

    producer: ClassVar[str] = "social_map"


class SocialMapPersonDataExported(PersonDataExportedBase):
    """Its part of a person's data export is stored (wijkkracht_common.export)."""

    producer: ClassVar[str] = "social_map"
