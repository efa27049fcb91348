"""axe-core finds no WCAG 2.0/2.1/2.2 A/AA violations on any page the portal has, for each
role, in Dutch and English, in both themes; and no page breaks its Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from portal.accessibility import PAGES

from .conftest import Portal
from .helpers import axe_violations, describe, log_in, new_page
from .scenario import Resident, Together, filled_in_together, invite, resident_with_results

LANGS = ("nl", "en")
THEMES = ("welzijn-demo", "gemeente-demo")


#: a path that is a form's answer: fill in the form, check the page it answers with
REGISTER_FORM = "/assisted-registration#submit"


@pytest.fixture(scope="module")
def resident(portal: Portal) -> Resident:
    someone = resident_with_results(portal, "Ineke Toets")
    invite(portal, someone)
    return someone


@pytest.fixture(scope="module")
def together(portal: Portal, resident: Resident) -> Together:
    return filled_in_together(portal, resident)


def _paths(role: str, resident: Resident, together: Together) -> dict[str, str]:
    latest, draft = resident.submitted[-1], resident.in_progress
    assisted = f"/caseload/{resident.person_id}/together"
    return {
        "anonymous": {"home": "/", "statement": "/toegankelijkheid"},
        "resident": {
            "home": "/",
            "selftest": "/self-assessment",
            "question": f"/self-assessment/{draft}/q/0",
            "all": f"/self-assessment/{draft}/all",
            "review": f"/self-assessment/{draft}/review",
            "results": "/results",
            "result": f"/results/{latest}",
            "offers": f"/results/{latest}/offers",
            "mydata": "/my-data",
            "access": "/my-data/access-log",
            "export": "/my-data/export",
            "erasure": "/my-data/erasure",
        },
        "professional": {
            "caseload": "/caseload",
            "resident": f"/caseload/{resident.person_id}",
            "register": "/assisted-registration",
            "login_code": REGISTER_FORM,
            "together": f"{assisted}/{together.in_progress}/q/0",
            "together_review": f"{assisted}/{together.in_progress}/review",
            "together_done": f"{assisted}/{together.submitted}/done",
        },
        "neighbourhood_manager": {"socialmap": "/social-map"},
        "analyst": {"dashboards": "/dashboards"},
    }[role]


def _check(page: Any, path: str) -> list[str]:
    if path == REGISTER_FORM:
        page.goto("/assisted-registration")
        page.fill("#display_name", "Axe Toets")
        with page.expect_navigation() as navigation:
            page.click("form[action='/assisted-registration'] button[type=submit]")
        answer = navigation.value
    else:
        answer = page.goto(path)
    problems = []
    if answer is None or answer.status != 200:
        problems.append(f"{path}: status {answer.status if answer else None}")
    violations = axe_violations(page)
    if violations:
        problems.append(f"{path}:\n{describe(violations)}")
    if page.csp_errors:
        problems.append(f"{path}: CSP violations {page.csp_errors}")
        page.csp_errors.clear()
    return problems


LOGINS = {
    "resident": None,  # the scenario's resident
    "professional": "sociaalwerker@demo.test",
    "neighbourhood_manager": "manager",
    "analyst": "analist@demo.test",
}


@pytest.fixture(scope="module")
def pages_of(portal: Portal, browser: Any, resident: Resident, manager_email: str) -> Iterator[Any]:
    opened: list[Any] = []

    def open_as(role: str, lang: str, theme: str) -> Any:
        if role == "anonymous":
            page = new_page(browser, portal, lang=lang, theme=theme)
        else:
            email = {"resident": resident.email, "neighbourhood_manager": manager_email}.get(
                role, LOGINS[role]
            )
            page = log_in(browser, portal, email, lang=lang, theme=theme)
        opened.append(page)
        return page

    yield open_as
    for page in opened:
        page.context.close()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", sorted({p.role for p in PAGES}))
def test_every_page_has_no_axe_violations(
    role: str, lang: str, theme: str, resident: Resident, together: Together, pages_of: Any
) -> None:
    page = pages_of(role, lang, theme)
    paths = _paths(role, resident, together)
    listed = {p.key for p in PAGES if p.role == role}
    assert listed == set(paths), "the statement and the test must name the same pages"
    problems = [problem for path in paths.values() for problem in _check(page, path)]
    assert not problems, "\n\n".join(problems)
    assert page.evaluate("document.documentElement.lang") == lang
