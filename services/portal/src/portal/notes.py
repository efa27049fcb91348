"""What a professional's session remembers between pages, beside the session itself: the names
of the residents the caseload showed (the resident page needs no second caseload call, which
identity would access-log again), fill-ins started together and not yet sent, and which
assisted-registration forms were already used (a second submit must not register the
resident twice). In memory and bounded, like the sessions; never a login code."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

MAX_SESSIONS = 5_000
MAX_PEOPLE = 500


@dataclass
class Notes:
    #: person id -> display name, as identity's caseload gave it
    names: dict[str, str] = field(default_factory=dict)
    #: person id -> ids of responses started together, not yet sent
    open_together: dict[str, list[str]] = field(default_factory=dict)
    #: form ids of assisted registrations already sent
    used_forms: set[str] = field(default_factory=set)

    def remember(self, person_id: str, name: str) -> None:
        if person_id not in self.names and len(self.names) >= MAX_PEOPLE:
            self.names.pop(next(iter(self.names)))
        self.names[person_id] = name

    def started(self, person_id: str, response_id: str) -> None:
        listed = self.open_together.setdefault(person_id, [])
        if response_id not in listed:
            listed.append(response_id)

    def finished(self, person_id: str, response_id: str) -> None:
        listed = self.open_together.get(person_id, [])
        if response_id in listed:
            listed.remove(response_id)


class NoteBook:
    """Notes per session id, the least recently used dropped beyond `limit`."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self._notes: OrderedDict[str, Notes] = OrderedDict()
        self._limit = limit

    def of(self, session_id: str) -> Notes:
        notes = self._notes.get(session_id)
        if notes is None:
            notes = self._notes[session_id] = Notes()
            while len(self._notes) > self._limit:
                self._notes.popitem(last=False)
        else:
            self._notes.move_to_end(session_id)
        return notes

    def drop(self, session_id: str) -> None:
        self._notes.pop(session_id, None)
