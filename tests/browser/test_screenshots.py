"""Screenshots of the main pages in both themes, for docs/screenshots/. Written only when
WK_PORTAL_SCREENSHOTS=1 (a normal test run leaves the work tree alone)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, Portal
from .helpers import log_in, new_page
from .scenario import invite, resident_with_results

OUT = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    os.environ.get("WK_PORTAL_SCREENSHOTS") != "1", reason="set WK_PORTAL_SCREENSHOTS=1"
)


def _shoot(page: Any, path: str, name: str) -> None:
    page.goto(path)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("theme", ["welzijn-demo", "gemeente-demo"])
def test_screenshots(portal: Portal, browser: Any, manager_email: str, theme: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    resident = resident_with_results(portal, "Ineke Voorbeeld")
    invite(portal, resident)
    latest = resident.submitted[-1]
    anonymous = new_page(browser, portal, theme=theme)
    _shoot(anonymous, "/", f"{theme}-home")
    page = log_in(browser, portal, resident.email, theme=theme)
    _shoot(page, "/", f"{theme}-resident-home")
    _shoot(page, f"/self-assessment/{resident.in_progress}/q/0", f"{theme}-question")
    _shoot(page, f"/results/{latest}", f"{theme}-result")
    _shoot(page, f"/results/{latest}/offers", f"{theme}-offers")
    _shoot(page, "/my-data", f"{theme}-my-data")
    _shoot(page, "/learning", f"{theme}-learning")
    with page.expect_navigation():  # start the first course: its first step
        page.click("form[action='/learning/start'] button")
    _shoot(page, page.url.removeprefix(portal.url), f"{theme}-learning-step")
    _shoot(page, "/market", f"{theme}-market")
    _shoot(page, "/market/new?kind=request", f"{theme}-market-ask")
    english = log_in(browser, portal, resident.email, theme=theme, lang="en")
    _shoot(english, "/my-data/erasure", f"{theme}-erasure-en")
    staff = log_in(browser, portal, "sociaalwerker@demo.test", theme=theme)
    _shoot(staff, f"/caseload/{resident.person_id}", f"{theme}-professional-resident")
    manager = log_in(browser, portal, manager_email, theme=theme)
    _shoot(manager, "/social-map", f"{theme}-social-map")
    analyst = log_in(browser, portal, "analist@demo.test", theme=theme)
    _shoot(analyst, "/dashboards", f"{theme}-dashboards")
    assert Path(OUT / f"{theme}-result.png").stat().st_size > 0
