"""Reminders and the weekly digest: one mail per person per pass, never one per event.

A resident leaves an address and chooses reminders (homework due soon) and/or a weekly
digest (open modules, new homework, what is overdue). Both are composed here from the
resident's enrolments; the service stages them in the mail outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field

from learning_paths.domain.content import Frozen
from learning_paths.domain.enrolment import Enrolment

DIGEST_EVERY = timedelta(days=7)


class ReminderPrefs(Frozen):
    person_id: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    reminders: bool = True
    digest: bool = True
    last_digest_at: datetime | None = None
    updated_at: datetime


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str


def due_soon(enrolments: Sequence[Enrolment], now: datetime, window: timedelta) -> list[Enrolment]:
    """Homework due within `window` (or overdue) and not reminded for this due date yet."""
    found = []
    for enrolment in enrolments:
        due = enrolment.assignment.due_at if enrolment.assignment else None
        if due is None or enrolment.status == "completed":
            continue
        reminded = enrolment.reminded_at is not None and enrolment.reminded_at >= due - window
        if due - window <= now and not reminded:
            found.append(enrolment)
    return found


def reminder_mail(due: Sequence[Enrolment], titles: Mapping[str, str], now: datetime) -> Composed:
    lines = []
    for enrolment in sorted(due, key=lambda e: (e.assignment and e.assignment.due_at) or now):
        assert enrolment.assignment is not None and enrolment.assignment.due_at is not None
        when = enrolment.assignment.due_at.strftime("%d-%m-%Y")
        state = "te laat" if enrolment.assignment.due_at < now else f"af op {when}"
        lines.append(f"- {titles.get(enrolment.content_id, 'Module')} ({state})")
    return Composed(
        subject="Herinnering: uw huiswerk / Reminder: your homework",
        text=(
            "Hallo,\n\nDeze modules staan voor u klaar:\n"
            + "\n".join(lines)
            + "\n\nU vindt ze bij 'Mijn leren'. Lukt het niet? Vraag uw sociaal werker om"
            " hulp of een papieren versie.\n"
        ),
    )


def digest_due(prefs: ReminderPrefs, now: datetime) -> bool:
    return prefs.digest and (
        prefs.last_digest_at is None or now - prefs.last_digest_at >= DIGEST_EVERY
    )


def digest_mail(
    enrolments: Sequence[Enrolment],
    titles: Mapping[str, str],
    now: datetime,
    since: datetime | None,
) -> Composed | None:
    """The week's summary; None when there is nothing to tell."""
    open_ = [e for e in enrolments if e.status != "completed"]
    new = [e for e in open_ if e.assignment and (since is None or e.created_at > since)]
    overdue = [e for e in open_ if e.display_status(now) == "overdue"]
    finished = [
        e for e in enrolments if e.completed_at and (since is None or e.completed_at > since)
    ]
    if not (open_ or finished):
        return None

    def names(items: Sequence[Enrolment]) -> str:
        return "\n".join(f"- {titles.get(e.content_id, 'Module')}" for e in items) or "- geen"

    text = (
        "Hallo,\n\nUw week in het kort.\n\n"
        f"Nieuw huiswerk:\n{names(new)}\n\n"
        f"Te laat:\n{names(overdue)}\n\n"
        f"Nog bezig:\n{names(open_)}\n\n"
        f"Afgerond deze week:\n{names(finished)}\n"
    )
    return Composed(subject="Uw week bij Wijkkracht leren / Your learning week", text=text)
