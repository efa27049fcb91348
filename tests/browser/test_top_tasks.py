"""Each role's top tasks, done twice: with the keyboard only (Tab, arrows, Enter, space), and
with JavaScript switched off (plain links and forms)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import Portal
from .helpers import log_in, new_page, press, tab_to
from .scenario import Resident, invite, resident_with_results

MODES = ("keyboard", "no-javascript")


def _go(page: Any, mode: str, selector: str) -> None:
    """Follow a link or press a button: by Tab + Enter, or by a click without JavaScript."""
    if mode == "keyboard":
        tab_to(page, selector)
        press(page, "Enter")
    else:
        with page.expect_navigation():
            page.click(selector)


def _sign_in(browser: Any, portal: Portal, email: str, mode: str) -> Any:
    return log_in(
        browser, portal, email, keyboard=mode == "keyboard", javascript=mode != "no-javascript"
    )


@pytest.mark.parametrize("mode", MODES)
def test_resident_fills_in_a_self_assessment_and_sees_offers(
    portal: Portal, browser: Any, mode: str
) -> None:
    email = portal.register_resident("Piet Toets")
    page = _sign_in(browser, portal, email, mode)
    _go(page, mode, "a.task[href='/self-assessment']")
    _go(page, mode, "main button[type=submit]")  # the short questionnaire, one per screen
    for step in range(60):
        if "/review" in page.url:
            break
        assert "/q/" in page.url, page.url
        if step == 1 and page.locator("button[value=later]").count():
            _go(page, mode, "button[value=later]")  # save and continue later
            assert page.locator("[role=status]").count()
            page.goto("/self-assessment")
            _go(page, mode, "a[href*='/q/0']")
        if mode == "keyboard":
            tab_to(page, "input[name=value]")
            page.keyboard.press("ArrowRight")  # arrows choose within the 0..10 group
            page.keyboard.press("ArrowRight")
            if step == 2:
                tab_to(page, "input[name=discussable]")
                page.keyboard.press("Space")
        else:
            page.check("input[name=value][value='7']")
            if step == 2:
                page.check("input[name=discussable]")
        if page.locator("button[value=skip]").count() and step == 3:
            _go(page, mode, "button[value=skip]")
        else:
            _go(page, mode, "button[value=next]")
    assert "/review" in page.url
    _go(page, mode, "form[action$='/submit'] button[type=submit]")
    assert "/results/" in page.url
    assert page.locator("table.scores tbody tr").count() == 6
    assert page.locator("img[src*='chart.svg']").evaluate("img => img.naturalWidth") > 0
    _go(page, mode, "a[href$='/offers']")
    assert page.locator("h1").inner_text()


@pytest.mark.parametrize("mode", MODES)
def test_resident_manages_consent_export_and_erasure(
    portal: Portal, browser: Any, mode: str
) -> None:
    email = portal.register_resident("Jet Toets")
    page = _sign_in(browser, portal, email, mode)
    _go(page, mode, "a.task[href='/my-data']")
    grant = "#consent-welzijn-demo-share_results"
    if mode == "keyboard":
        tab_to(page, grant)
        page.keyboard.press("Enter")  # htmx swaps the consents in place
        page.wait_for_selector(f"{grant}:has-text('Intrekken')")
    else:
        _go(page, mode, grant)
        assert "Intrekken" in page.locator(grant).inner_text()
    assert page.locator("#consents table tbody tr").count() == 1  # the history
    _go(page, mode, "a[href='/my-data/access-log']")
    _go(page, mode, "a[href='/my-data/export']")
    _go(page, mode, "form[action='/my-data/export'] button")
    assert page.locator("#exports li").count() >= 1
    _go(page, mode, "a[href='/my-data/erasure']")
    if mode == "keyboard":
        tab_to(page, "#confirm")
        page.keyboard.press("Space")
    else:
        page.check("#confirm")
    _go(page, mode, "form[action='/my-data/erasure'] button")
    assert page.locator("#erasure").count() == 1


@pytest.fixture(scope="module")
def resident(portal: Portal) -> Resident:
    someone = resident_with_results(portal, "Kees Toets")
    invite(portal, someone)
    return someone


def test_a_resident_sees_the_latest_result_beside_the_earlier_one(
    portal: Portal, browser: Any, resident: Resident
) -> None:
    """The spider web of the latest measurement overlays the resident's earlier one."""
    first, latest = resident.submitted[0], resident.submitted[-1]
    page = _sign_in(browser, portal, resident.email, "keyboard")
    page.goto(f"/results/{latest}")
    chart = page.locator("figure.chart img")
    assert f"compare_with={first}" in (chart.get_attribute("src") or "")
    assert chart.evaluate("img => img.naturalWidth") > 0
    page.goto(f"/results/{first}")
    assert "compare_with" not in (page.locator("figure.chart img").get_attribute("src") or "")


@pytest.mark.parametrize("mode", MODES)
def test_professional_sees_a_resident_and_assigns_a_module(
    portal: Portal, browser: Any, resident: Resident, mode: str
) -> None:
    page = _sign_in(browser, portal, "sociaalwerker@demo.test", mode)
    _go(page, mode, "a.task[href='/caseload']")
    _go(page, mode, f"a[href='/caseload/{resident.person_id}']")
    assert page.locator("table.scores tbody tr").count() == 6
    if mode == "keyboard":
        tab_to(page, "#note")
        page.keyboard.type("Lees stap 1 voor ons gesprek.")
    else:
        page.fill("#note", "Lees stap 1 voor ons gesprek.")
    _go(page, mode, "form[action$='/assignments'] button")
    assert page.locator("[role=status]").count()


def _type(page: Any, mode: str, selector: str, text: str) -> None:
    if mode == "keyboard":
        tab_to(page, selector)
        page.keyboard.type(text)
    else:
        page.fill(selector, text)


def _answer_every_question(page: Any, mode: str) -> None:
    """One question per screen until the check page, the way the resident's test answers."""
    for _ in range(60):
        if "/review" in page.url:
            return
        assert "/q/" in page.url, page.url
        if mode == "keyboard":
            tab_to(page, "input[name=value]")
            page.keyboard.press("ArrowRight")
        else:
            page.check("input[name=value][value='6']")
        _go(page, mode, "button[value=next]")
    raise AssertionError(f"no check page after 60 questions: {page.url}")


@pytest.mark.parametrize("mode", MODES)
def test_professional_registers_a_resident_and_fills_in_together(
    portal: Portal, browser: Any, mode: str
) -> None:
    """Assisted registration with a printable code, then the questionnaire filled in together;
    the resident then logs in with the printed code and finds the result as their own."""
    page = _sign_in(browser, portal, "sociaalwerker@demo.test", mode)
    _go(page, mode, "a.task[href='/caseload']")
    _go(page, mode, "a[href='/assisted-registration']")
    name = f"Gerrit Toets {mode}"
    _type(page, mode, "#display_name", name)
    _type(page, mode, "#pc4", "9904")
    _type(page, mode, "#birth_year", "1949")
    if mode == "keyboard":
        tab_to(page, "#consent-share_results")
        page.keyboard.press("Space")
    else:
        page.check("#consent-share_results")
    _go(page, mode, "form[action='/assisted-registration'] button[type=submit]")
    code = page.locator("#login-code").inner_text().strip()
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}", code), code
    assert name in page.locator("main").inner_text()
    _go(page, mode, "main a[href^='/caseload/']")  # to the resident's page
    assert name in page.locator("h1").inner_text()
    _go(page, mode, "form[action$='/together'] button[type=submit]")
    _answer_every_question(page, mode)
    _go(page, mode, "form[action$='/submit'] button[type=submit]")
    assert page.url.endswith("/done")
    assert page.locator("table.scores tbody tr").count() == 6
    assert page.locator("img[src*='chart.svg']").evaluate("img => img.naturalWidth") > 0
    page.context.close()
    # The resident, at home: the printed code logs in once, the result is theirs.
    resident = log_in(
        browser,
        portal,
        "",
        code=code,
        keyboard=mode == "keyboard",
        javascript=mode != "no-javascript",
    )
    assert name in resident.locator("header").inner_text()
    resident.goto("/results")
    assert resident.locator("a[href^='/results/']").count() == 1
    resident.context.close()
    again = new_page(browser, portal)
    again.goto("/login")
    again.fill("#login_code", code)
    with again.expect_navigation():
        again.click("button[type=submit]")
    assert again.locator("[role=alert]").count() == 1, "a used code must not log in again"
    again.context.close()


@pytest.mark.parametrize("mode", MODES)
def test_manager_verifies_an_entry_in_one_click(
    portal: Portal, browser: Any, manager_email: str, mode: str
) -> None:
    page = _sign_in(browser, portal, manager_email, mode)
    _go(page, mode, "a.task[href='/social-map']")
    button = "form[action*='/verification'] button"
    if mode == "keyboard":
        tab_to(page, button)
        page.keyboard.press("Enter")  # htmx replaces the button with the confirmation
        page.wait_for_selector(".verified")
    else:
        _go(page, mode, button)
        assert page.locator("[role=status]").count()


@pytest.mark.parametrize("mode", MODES)
def test_analyst_reads_figures_with_suppressed_cells_marked(
    portal: Portal, browser: Any, mode: str
) -> None:
    page = _sign_in(browser, portal, "analist@demo.test", mode)
    _go(page, mode, "a.task[href='/dashboards']")
    _go(page, mode, "form.filters button")
    assert page.locator("h1").inner_text()
    suppressed = page.locator(".suppressed")
    if suppressed.count():
        assert "te klein" in suppressed.first.inner_text()
