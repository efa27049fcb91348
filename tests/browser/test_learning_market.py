"""Learning and the neighbourhood market in a real browser: every page has no axe-core
violations (WCAG 2.0/2.1/2.2 A and AA) in Dutch and English and in both themes; "ask for help"
and "complete a module" are done keyboard-only and with JavaScript off; the rest of the market
(respond, messages, contact, done, report, join a group) is walked without JavaScript.

Data is made through the public APIs, as a member organisation's own front end would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from portal.accessibility import LEARNING_MARKET_PAGES

from .conftest import Portal
from .helpers import log_in, press, tab_to
from .test_accessibility import _check as check_page
from .test_top_tasks import _sign_in

LEARNING, MARKET = 3, 4
PREFIXES = {LEARNING: "/learning-paths/v1", MARKET: "/marketplace/v1"}
MODULE = "ontspannen"  # text, checklist, exercise, text, quiz, plan
OFFER_MODULE = "contact-maken"  # has a local offer step
PATH = "grip-op-geld"
MODES = ("keyboard", "no-javascript")


def _api(portal: Portal, offset: int, path: str) -> str:
    return portal.service_url(offset) + PREFIXES[offset] + path


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _content_id(portal: Portal, token: str, collection: str, slug: str) -> str:
    found = httpx.get(
        _api(portal, LEARNING, f"/{collection}"),
        params={"limit": 100},
        headers=_headers(token),
        timeout=30,
    )
    found.raise_for_status()
    return str(next(c["id"] for c in found.json()["items"] if c["slug"] == slug))


def _post_when_known(portal: Portal, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """A post, once the marketplace knows the new resident's neighbourhood (it learns it from
    identity's events, so the first tries may be refused with 409)."""
    deadline = time.monotonic() + 90
    while True:
        answer = httpx.post(
            _api(portal, MARKET, "/posts"), json=body, headers=_headers(token), timeout=30
        )
        if answer.status_code == 201:
            made: dict[str, Any] = answer.json()
            return made
        assert answer.status_code == 409 and time.monotonic() < deadline, answer.text
        time.sleep(0.5)


@dataclass
class Learner:
    email: str
    person_id: str
    module_id: str
    enrolment: str
    steps: dict[str, str]  # kind → a step id of that kind
    offer_enrolment: str
    offer_step: str
    path_id: str
    own_post: str
    other_post: str
    match: str


@pytest.fixture(scope="module")
def learner(portal: Portal) -> Learner:
    """A resident with homework, a module under way, a post with a response and messages,
    and someone else's post to respond to."""
    email = portal.register_resident("Lotte Leerling")
    person = portal.people[email]
    token = portal.token(email)
    worker = portal.token("sociaalwerker@demo.test")
    module_id = _content_id(portal, token, "modules", MODULE)
    offer_module = _content_id(portal, token, "modules", OFFER_MODULE)
    path_id = _content_id(portal, token, "paths", PATH)
    with httpx.Client(timeout=30) as client:
        client.post(
            _api(portal, LEARNING, "/organisations/welzijn-demo/assignments"),
            json={
                "person_id": person,
                "content_id": offer_module,
                "note": "Kijk wat er in uw buurt is.",
                "due_at": "2030-01-31T17:00:00+00:00",
            },
            headers=_headers(worker),
        ).raise_for_status()
        started = client.post(
            _api(portal, LEARNING, "/enrolments"),
            json={"content_id": module_id},
            headers=_headers(token),
        )
        started.raise_for_status()
        enrolment = started.json()["id"]
        shown = client.get(
            _api(portal, LEARNING, f"/enrolments/{enrolment}"), headers=_headers(token)
        ).json()
        steps: dict[str, str] = {}
        for step in shown["steps"]:
            steps.setdefault(step["kind"], step["id"])
        mine = client.get(_api(portal, LEARNING, "/me/enrolments"), headers=_headers(token)).json()
        homework = next(e for e in mine["items"] if e["content_id"] == offer_module)
        detail = client.get(
            _api(portal, LEARNING, f"/enrolments/{homework['id']}"), headers=_headers(token)
        ).json()
        offer_step = next(s["id"] for s in detail["steps"] if s["kind"] == "local_offer")

    own = _post_when_known(
        portal,
        token,
        {"kind": "request", "category": _category(portal, token), "text": "Wie helpt mij?"},
    )
    neighbour_email = portal.register_resident("Nico Buur")
    neighbour = portal.token(neighbour_email)
    other = _post_when_known(
        portal,
        neighbour,
        {"kind": "offer", "category": _category(portal, neighbour), "text": "Ik kook graag."},
    )
    with httpx.Client(timeout=30) as client:
        responded = client.post(
            _api(portal, MARKET, f"/posts/{own['id']}/responses"),
            json={"message": "Ik help graag."},
            headers=_headers(neighbour),
        )
        assert responded.status_code == 201, responded.text
        match = responded.json()["id"]
        client.post(
            _api(portal, MARKET, f"/matches/{match}/messages"),
            json={"text": "Wanneer komt het uit?"},
            headers=_headers(neighbour),
        ).raise_for_status()
    return Learner(
        email=email,
        person_id=person,
        module_id=module_id,
        enrolment=enrolment,
        steps=steps,
        offer_enrolment=homework["id"],
        offer_step=offer_step,
        path_id=path_id,
        own_post=own["id"],
        other_post=other["id"],
        match=match,
    )


def _category(portal: Portal, token: str) -> str:
    found = httpx.get(_api(portal, MARKET, "/categories"), headers=_headers(token), timeout=30)
    found.raise_for_status()
    return str(found.json()["items"][0]["code"])


def _paths(learner: Learner) -> dict[str, str]:
    e, s = learner.enrolment, learner.steps
    return {
        "learning": "/learning",
        "entry": f"/learning/paths/{learner.path_id}",
        "enrolment": f"/learning/{e}",
        "step_text": f"/learning/{e}/steps/{s['text']}",
        "step_checklist": f"/learning/{e}/steps/{s['checklist']}",
        "step_exercise": f"/learning/{e}/steps/{s['exercise']}",
        "step_quiz": f"/learning/{e}/steps/{s['quiz']}",
        "step_plan": f"/learning/{e}/steps/{s['plan']}",
        "step_offer": f"/learning/{learner.offer_enrolment}/steps/{learner.offer_step}",
        "step_print": f"/learning/{e}/steps/{s['quiz']}/print",
        "market": "/market",
        "ask": "/market/new?kind=request",
        "offer": "/market/new?kind=offer",
        "mine": "/market/mine",
        "own_post": f"/market/posts/{learner.own_post}",
        "other_post": f"/market/posts/{learner.other_post}",
        "match": f"/market/matches/{learner.match}",
        "groups": "/market/groups",
    }


@pytest.fixture(scope="module")
def opened(portal: Portal, browser: Any) -> Iterator[list[Any]]:
    pages: list[Any] = []
    yield pages
    for page in pages:
        page.context.close()


@pytest.mark.parametrize("theme", ("welzijn-demo", "gemeente-demo"))
@pytest.mark.parametrize("lang", ("nl", "en"))
def test_learning_and_market_pages_have_no_axe_violations(
    portal: Portal, browser: Any, learner: Learner, opened: list[Any], lang: str, theme: str
) -> None:
    paths = _paths(learner)
    assert set(paths) == {p.key for p in LEARNING_MARKET_PAGES}, "statement and test differ"
    page = log_in(browser, portal, learner.email, lang=lang, theme=theme)
    opened.append(page)
    problems = [problem for path in paths.values() for problem in check_page(page, path)]
    assert not problems, "\n\n".join(problems)
    assert page.evaluate("document.documentElement.lang") == lang


def _go(page: Any, mode: str, selector: str) -> None:
    if mode == "keyboard":
        tab_to(page, selector, limit=150)
        press(page, "Enter")
    else:
        with page.expect_navigation():
            page.click(selector)


def _type(page: Any, mode: str, selector: str, text: str) -> None:
    if mode == "keyboard":
        tab_to(page, selector, limit=150)
        page.keyboard.type(text)
    else:
        page.fill(selector, text)


def _tick(page: Any, mode: str, selector: str) -> None:
    if mode == "keyboard":
        tab_to(page, selector, limit=150)
        page.keyboard.press("Space")
    else:
        page.check(selector)
    assert page.locator(selector).is_checked()


@pytest.mark.parametrize("mode", MODES)
def test_resident_asks_for_help(portal: Portal, browser: Any, mode: str) -> None:
    email = portal.register_resident("Greet Vraag")
    token = portal.token(email)
    # Wait until the marketplace knows where the new resident lives (an offer of their own).
    _post_when_known(
        portal, token, {"kind": "offer", "category": _category(portal, token), "text": "Koffie."}
    )
    page = _sign_in(browser, portal, email, mode)
    _go(page, mode, "nav.main-nav a[href='/market']")
    _go(page, mode, "a[href='/market/new?kind=request']")
    assert page.locator("#kind-request").is_checked()
    if mode == "keyboard":
        tab_to(page, "#category", limit=150)
        page.keyboard.press("ArrowDown")  # the first topic
    else:
        page.select_option("#category", index=1)
    assert page.locator("#category").input_value()
    _type(page, mode, "#post-text", "Wie kan mij helpen met de boodschappen?")
    if mode == "keyboard":  # arrows move within a radio group: flexible → once → weekly
        tab_to(page, "#timing-flexible", limit=150)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
    else:
        page.check("#timing-recurring")
    assert page.locator("#timing-recurring").is_checked()
    _tick(page, mode, "#day-1")
    _go(page, mode, "form[action='/market/new'] button[type=submit]")
    assert "/market/posts/" in page.url, page.url
    assert page.locator("[role=status]").count()
    assert "boodschappen" in page.locator("main").inner_text()
    _go(page, mode, "a[href='/market/mine']")
    assert page.locator("form[action$='/renew']").count() >= 2


@pytest.mark.parametrize("mode", MODES)
def test_resident_completes_a_module(portal: Portal, browser: Any, mode: str) -> None:
    email = portal.register_resident("Karel Cursus")
    module_id = _content_id(portal, portal.token(email), "modules", MODULE)
    page = _sign_in(browser, portal, email, mode)
    _go(page, mode, "nav.main-nav a[href='/learning']")
    _go(page, mode, f"form[action='/learning/start']:has(input[value='{module_id}']) button")
    for _ in range(12):
        if "/steps/" not in page.url:
            break
        if page.locator("input[name=checked]").count():
            _tick(page, mode, "#item-1")
        if page.locator("#answer-text").count():
            _type(page, mode, "#answer-text", "Vooral geldzorgen.")
        if page.locator("#plan-1").count():
            _type(page, mode, "#plan-1", "Elke dag een wandeling.")
        for question in range(1, 10):
            first = f"#q-{question}-1"  # the demo quiz's right answers are the first options
            if not page.locator(first).count():
                break
            _tick(page, mode, first)
        _go(page, mode, "button[value=next]")
    assert page.locator("[role=status]").count()
    assert page.locator(".status-completed").count() == 1, page.url
    if mode == "no-javascript":  # the print view and sharing progress, without JavaScript
        page.goto(page.locator("ol.step-list a").first.get_attribute("href"))
        _go(page, mode, "a[href$='/print']")
        assert page.locator("h1").inner_text()
        page.goto("/learning")
        _go(page, mode, "#share-welzijn-demo")
        assert page.locator("form:has(#share-welzijn-demo) input[value=revoke]").count() == 1


def test_market_conversation_without_javascript(
    portal: Portal, browser: Any, learner: Learner
) -> None:
    """The owner accepts the response, writes back, shares contact details and marks the
    help done; the other side's offer is responded to and reported; an open group is joined."""
    page = log_in(browser, portal, learner.email, javascript=False)
    page.goto(f"/market/posts/{learner.own_post}")
    with page.expect_navigation():
        page.click(f"form[action='/market/matches/{learner.match}/accept'] button")
    assert "/market/matches/" in page.url
    page.fill("#message-text", "Dinsdag is goed.")
    with page.expect_navigation():
        page.click("form[action$='/messages'] button")
    messages = page.locator("ol.messages").inner_text()
    assert "Wanneer komt het uit?" in messages and "Dinsdag is goed." in messages
    page.fill("#contact", "06-12345678")
    with page.expect_navigation():
        page.click("form[action$='/contact'] button")
    assert "06-12345678" in page.locator("#contact-heading + p").inner_text()
    with page.expect_navigation():
        page.click("form[action$='/done'] button")
    assert page.locator("[role=status]").count()
    page.goto(f"/market/posts/{learner.other_post}")
    page.fill("#respond-message", "Graag!")
    with page.expect_navigation():
        page.click("form[action$='/respond'] button")
    assert "/market/matches/" in page.url
    page.goto(f"/market/posts/{learner.other_post}")
    page.click("details.report summary")
    page.select_option("#reason", "spam")
    with page.expect_navigation():
        page.click("form[action$='/report'] button")
    assert page.url.endswith("/market")
    page.goto("/market/groups")
    join = page.locator("form[action$='/join'] button")
    if join.count():
        with page.expect_navigation():
            join.first.click()
        assert page.locator("[role=status]").count()
    page.context.close()
