"""Consent: per person, per (organisation, purpose), with its full history.

The current state is derived from the history, never stored beside it, so the two cannot
disagree. Operations return the change worth an event, or None when nothing changed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ConsentPurpose(StrEnum):
    SHARE_RESULTS = "share_results"
    SHARE_LEARNING_PROGRESS = "share_learning_progress"
    SHARE_WITH_GP = "share_with_gp"
    RESEARCH = "research"
    MARKETPLACE_BROKER = "marketplace_broker"  # the organisation's brokers may act for me


class ConsentAction(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


class ConsentEntry(BaseModel):
    """One line of history; ``by`` is the actor id (the person, or a professional assisting)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organisation: str
    purpose: ConsentPurpose
    action: ConsentAction
    at: datetime
    by: str


class ConsentLedger(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: str
    entries: tuple[ConsentEntry, ...] = ()

    def is_granted(self, organisation: str, purpose: ConsentPurpose) -> bool:
        for entry in reversed(self.entries):
            if entry.organisation == organisation and entry.purpose is purpose:
                return entry.action is ConsentAction.GRANTED
        return False

    def version_of(self, organisation: str, purpose: ConsentPurpose) -> int:
        """The consent's own version: its position in this ledger for (organisation, purpose),
        1 for the first grant, 2 for the revocation after it, and so on. Published with every
        consent event, so consumers keep the newest state whatever order events arrive in."""
        return sum(
            1 for e in self.entries if e.organisation == organisation and e.purpose is purpose
        )

    def last_changed_at(self, organisation: str, purpose: ConsentPurpose) -> datetime | None:
        for entry in reversed(self.entries):
            if entry.organisation == organisation and entry.purpose is purpose:
                return entry.at
        return None

    def current(self) -> dict[str, frozenset[ConsentPurpose]]:
        """Granted purposes per organisation, as derived from the history."""
        state: dict[tuple[str, ConsentPurpose], bool] = {}
        for entry in self.entries:
            state[(entry.organisation, entry.purpose)] = entry.action is ConsentAction.GRANTED
        result: dict[str, set[ConsentPurpose]] = {}
        for (organisation, purpose), granted in state.items():
            if granted:
                result.setdefault(organisation, set()).add(purpose)
        return {org: frozenset(purposes) for org, purposes in sorted(result.items())}

    def granted_since(self, organisation: str) -> dict[ConsentPurpose, datetime]:
        """The purposes currently granted to `organisation`, each with when it was granted
        (the grant that is in force now, not an earlier one revoked since)."""
        since: dict[ConsentPurpose, datetime] = {}
        for entry in self.entries:
            if entry.organisation != organisation:
                continue
            if entry.action is ConsentAction.GRANTED:
                since[entry.purpose] = entry.at
            else:
                since.pop(entry.purpose, None)
        return since

    def grant(
        self, organisation: str, purpose: ConsentPurpose, *, by: str, at: datetime
    ) -> tuple[ConsentLedger, ConsentEntry | None]:
        if self.is_granted(organisation, purpose):
            return self, None
        return self._append(
            ConsentEntry(
                organisation=organisation,
                purpose=purpose,
                action=ConsentAction.GRANTED,
                at=at,
                by=by,
            )
        )

    def revoke(
        self, organisation: str, purpose: ConsentPurpose, *, by: str, at: datetime
    ) -> tuple[ConsentLedger, ConsentEntry | None]:
        if not self.is_granted(organisation, purpose):
            return self, None
        return self._append(
            ConsentEntry(
                organisation=organisation,
                purpose=purpose,
                action=ConsentAction.REVOKED,
                at=at,
                by=by,
            )
        )

    def revoke_all(self, *, by: str, at: datetime) -> tuple[ConsentLedger, list[ConsentEntry]]:
        """Used on erasure or when a person leaves: revoke every current grant."""
        ledger = self
        changes: list[ConsentEntry] = []
        for organisation, purposes in self.current().items():
            for purpose in sorted(purposes):
                ledger, change = ledger.revoke(organisation, purpose, by=by, at=at)
                if change is not None:
                    changes.append(change)
        return ledger, changes

    def anonymised(self, new_id: str) -> ConsentLedger:
        """After erasure: the record that consent existed (organisation, purpose, action, day)
        stays, under an id that no longer points to the person; the person's own actor id
        becomes "resident" (staff ids, who acted on the resident's behalf, stay)."""
        entries = tuple(
            entry.model_copy(
                update={
                    "by": "resident" if entry.by == self.person_id else entry.by,
                    "at": entry.at.replace(hour=0, minute=0, second=0, microsecond=0),
                }
            )
            for entry in self.entries
        )
        return ConsentLedger(person_id=new_id, entries=entries)

    def _append(self, entry: ConsentEntry) -> tuple[ConsentLedger, ConsentEntry]:
        return self.model_copy(update={"entries": (*self.entries, entry)}), entry
