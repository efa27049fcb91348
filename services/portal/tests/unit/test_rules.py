"""Rules without I/O: sessions expire, questions follow their conditions, every text exists
in both languages, every text a template names exists."""

from __future__ import annotations

import re
from pathlib import Path

from portal import instruments
from portal.oidc import code_challenge, safe_next
from portal.sessions import SessionStore
from portal.texts import TEXTS

TEMPLATES = Path(__file__).resolve().parents[2] / "src/portal/templates"


def test_sessions_expire_when_idle_and_after_their_lifetime() -> None:
    now = [1000.0]
    store = SessionStore(idle_seconds=60, max_seconds=300, clock=lambda: now[0])
    session = store.new()
    now[0] += 59
    assert store.get(session.id) is session
    now[0] += 61
    assert store.get(session.id) is None
    other = store.new()
    for _ in range(7):
        now[0] += 50
        store.get(other.id)
    assert store.get(other.id) is None  # touched every 50 s, but older than 300 s


def test_rotation_gives_a_new_id_and_csrf_token() -> None:
    store = SessionStore(idle_seconds=60, max_seconds=300)
    session = store.new()
    old_id, old_csrf = session.id, session.csrf
    store.rotate(session)
    assert session.id != old_id and session.csrf != old_csrf
    assert store.get(old_id) is None and store.get(session.id) is session


def test_conditional_questions_follow_the_answers() -> None:
    definition = {
        "groups": [
            {
                "title": {"nl": "G"},
                "items": [
                    {"link_id": "a", "answer_type": "yes_no"},
                    {
                        "link_id": "b",
                        "answer_type": "scale_0_10",
                        "enable_when": [{"question": "a", "operator": "=", "answer": True}],
                    },
                ],
            }
        ]
    }
    assert [q.link_id for q in instruments.questions(definition, {})] == ["a"]
    shown = instruments.questions(definition, {"a": {"value": True}})
    assert [q.link_id for q in shown] == ["a", "b"]
    assert instruments.parse_answer(shown[1], ["7"]) == 7
    assert instruments.parse_answer(shown[0], ["false"]) is False


def test_pkce_challenge_and_local_redirects_only() -> None:
    # RFC 7636 appendix B
    assert code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    assert safe_next("//evil.test") == "/" and safe_next("https://x") == "/"
    assert safe_next("/results") == "/results"


def test_every_text_has_dutch_and_english() -> None:
    assert all(nl.strip() and en.strip() for nl, en in TEXTS.values())


def test_templates_name_only_existing_texts() -> None:
    named = set()
    for template in TEMPLATES.rglob("*.html"):
        named |= set(re.findall(r"(?<![\w.])t\('([a-z0-9_]+)'", template.read_text()))
    prefixes = {name for name in named if name.endswith("_")}  # t('purpose_' ~ purpose)
    assert named and not named - prefixes - set(TEXTS)
    assert all(any(key.startswith(p) for key in TEXTS) for p in prefixes)
