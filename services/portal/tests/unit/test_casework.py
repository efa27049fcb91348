"""The professional's pages without the platform: what a session remembers (bounded), the
steps of filling in shared by the resident and the professional, and the short cache of
non-personal lists (shared only between the same tenant and roles, one request in flight,
failures not kept). The pages themselves run against the real platform in tests/browser."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from starlette.datastructures import FormData

from portal import fillin, instruments
from portal.api import Api, ApiError
from portal.notes import NoteBook
from portal.oidc import OidcClient
from portal.pages.professional import HELP_SOURCES, shown_trajectory
from portal.sessions import Session, Tokens, User
from portal.settings import Settings
from portal.texts import text

DEFINITION = {
    "groups": [
        {
            "title": {"nl": "Meedoen"},
            "items": [
                {"link_id": "a", "answer_type": "scale_0_10", "text": {"nl": "A"}},
                {"link_id": "b", "answer_type": "yes_no", "text": {"nl": "B"}, "sensitive": True},
                {
                    "link_id": "c",
                    "answer_type": "short_text",
                    "text": {"nl": "C"},
                    "enable_when": [{"question": "b", "operator": "=", "answer": True}],
                },
            ],
        }
    ]
}


def test_notes_are_per_session_and_bounded() -> None:
    book = NoteBook(limit=2)
    book.of("s1").remember("p1", "Ria")
    book.of("s2").remember("p2", "Kees")
    assert book.of("s1").names == {"p1": "Ria"}  # s1 used last: s2 is the oldest now
    book.of("s3")
    assert book.of("s2").names == {}, "the least recently used session's notes were dropped"
    notes = book.of("s1")
    notes.started("p1", "r1")
    notes.started("p1", "r1")
    assert notes.open_together == {"p1": ["r1"]}
    notes.finished("p1", "r1")
    assert notes.open_together == {"p1": []}
    book.drop("s1")
    assert book.of("s1").names == {}


def test_filling_in_goes_forward_back_and_follows_conditions() -> None:
    base = "/caseload/p/together/r"
    shown = instruments.questions(DEFINITION, {})
    assert [q.link_id for q in shown] == ["a", "b"]
    a, b = shown
    given, problem = fillin.read_answer(FormData([("value", "7")]), a, "next")
    assert (given, problem) == ({"value": 7, "discussable": False}, None)
    assert fillin.next_screen(base, DEFINITION, {}, a, given, 0, "next") == f"{base}/q/1"
    assert fillin.next_screen(base, DEFINITION, {}, a, given, 0, "previous") == f"{base}/q/0"
    # "yes" to b switches c on: not the review yet.
    yes, _ = fillin.read_answer(FormData([("value", "true")]), b, "next")
    assert fillin.next_screen(base, DEFINITION, {}, b, yes, 1, "next") == f"{base}/q/2"
    no, _ = fillin.read_answer(FormData([("value", "false")]), b, "next")
    assert fillin.next_screen(base, DEFINITION, {}, b, no, 1, "next") == f"{base}/review"
    assert fillin.read_answer(FormData(), b, "skip") == ({"skipped": True}, None)
    assert fillin.read_answer(FormData([("value", "11")]), a, "next") == (
        None,
        "there_are_errors",
    )
    rows = fillin.review_rows(DEFINITION, {"a": {"value": 7}, "b": {"skipped": True}}, "nl")
    assert [(r["answer"], r["skipped"]) for r in rows] == [("7", False), (None, True)]


def _session(orgs: dict[str, list[str]], tenant: str = "demo") -> Session:
    session = Session(id="s", created_at=0, last_seen=0, csrf="c")
    session.tokens = Tokens("token", None, expires_at=10**12)
    session.user = User("p", "Ria", tenant, orgs)
    return session


@pytest.mark.asyncio
async def test_shared_lists_are_cached_per_tenant_and_roles_with_one_request_in_flight() -> None:
    calls: list[str] = []
    fail = [False]

    async def answer(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        await asyncio.sleep(0.01)  # a slow service: concurrent pages wait for one answer
        if fail[0]:
            return httpx2.Response(503, json={"title": "down"})
        return httpx2.Response(200, content=json.dumps({"items": [{"id": "x"}]}))

    settings = Settings(
        issuer="http://identity.test/identity/v1",
        questionnaires_url="http://q.test/questionnaires/v1",
    )
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as http:
        api = Api(settings, http, OidcClient(settings, http))
        resident = _session({"welzijn-demo": ["resident"]})
        other_resident = _session({"welzijn-demo": ["resident"]})
        admin = _session({"welzijn-demo": ["org_admin"]})
        found = await asyncio.gather(
            *(api.get(s, "questionnaires", "/instruments", limit=100) for s in [resident] * 5)
        )
        assert all(f == {"items": [{"id": "x"}]} for f in found)
        assert len(calls) == 1, "one request for five concurrent pages"
        await api.get(other_resident, "questionnaires", "/instruments", limit=100)
        assert len(calls) == 1, "same tenant and roles: the same list"
        await api.get(admin, "questionnaires", "/instruments", limit=100)
        assert len(calls) == 2, "other roles may see other instruments (drafts)"
        await api.get(
            _session({"welzijn-demo": ["resident"]}, "other"),
            "questionnaires",
            "/instruments",
            limit=100,
        )
        assert len(calls) == 3, "another tenant never shares"
        await api.get(resident, "questionnaires", "/responses", limit=100)
        await api.get(resident, "questionnaires", "/responses", limit=100)
        assert calls.count("/questionnaires/v1/responses") == 2, "personal lists: never kept"
        fail[0] = True
        fresh = _session({"gemeente-demo": ["analyst"]})
        for _ in range(2):
            with pytest.raises(ApiError):
                await api.get(fresh, "questionnaires", "/instruments", limit=100)
        assert len(calls) == 7, "a failure is not cached"


def test_a_trajectory_shows_its_help_in_time_order_in_plain_words() -> None:
    found = {
        "trajectory_id": "t1",
        "measurements": 2,
        "interventions": [
            {"source": "marketplace", "occurred_at": "2026-03-04T10:00:00+00:00", "type": "x"},
            {"source": "learning_paths", "occurred_at": "2026-03-01T10:00:00+00:00"},
            {"source": "somewhere-new", "occurred_at": "2026-03-02T10:00:00+00:00"},
        ],
    }
    shown = shown_trajectory(found)
    assert shown["trajectory_id"] == "t1"
    # a source the portal has no words for is left out; codes (`type`) are not shown
    assert shown["interventions"] == [
        {"source": "learning_paths", "occurred_at": "2026-03-01T10:00:00+00:00"},
        {"source": "marketplace", "occurred_at": "2026-03-04T10:00:00+00:00"},
    ]
    assert shown_trajectory({"trajectory_id": "t2"})["interventions"] == []
    for source in HELP_SOURCES:
        nl, en = text(f"help_{source}", "nl"), text(f"help_{source}", "en")
        assert nl and en and nl != en
