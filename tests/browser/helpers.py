"""Steps the browser tests share: log in through identity's page, run axe-core, read the
visible text."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

from .conftest import PASSWORD, Portal

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
_AXE = Axe()


def new_page(
    browser: Any,
    portal: Portal,
    *,
    lang: str = "nl",
    theme: str | None = None,
    javascript: bool = True,
    bypass_csp: bool = False,
    state: Any = None,
) -> Any:
    context = browser.new_context(
        java_script_enabled=javascript,
        base_url=portal.url,
        locale="nl-NL",
        bypass_csp=bypass_csp,
        storage_state=state,
    )
    csp_errors: list[str] = []
    context.on(
        "console",
        lambda message: (
            csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    cookies = [{"name": "wk-lang", "value": lang, "url": portal.url}]
    if theme:
        cookies.append({"name": "wk-theme", "value": theme, "url": portal.url})
    context.add_cookies(cookies)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.csp_errors = csp_errors
    return page


def _fill_login_form(
    page: Any, email: str, password: str, *, keyboard: bool, code: str | None = None
) -> None:
    """Identity's login form: e-mail and password, or a printed one-time login code."""
    first, rest = ("login_code", [code]) if code else ("email", [email, password])
    if not keyboard:
        if code:
            page.fill("#login_code", code)
        else:
            page.fill("#email", email)
            page.fill("#password", password)
        page.click("button[type=submit]")
        return
    page.focus("body")
    for _ in range(30):  # Tab to the first field, as a keyboard user does
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == first:
            break
    page.keyboard.type(str(rest[0]))
    for value in rest[1:]:
        page.keyboard.press("Tab")
        page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def log_in(
    browser: Any,
    portal: Portal,
    email: str,
    password: str = PASSWORD,
    *,
    lang: str = "nl",
    theme: str | None = None,
    javascript: bool = True,
    keyboard: bool = False,
    code: str | None = None,
) -> Any:
    """Log in through the portal's login link and identity's form, like a person (with a
    printed login code when `code` is given); returns a page signed in to the portal. The
    browser enforces every page's Content-Security-Policy, identity's login page too (it
    allows the form to lead to the portal's registered redirect URI)."""
    page = new_page(browser, portal, lang=lang, theme=theme, javascript=javascript)
    if keyboard:
        page.goto("/")
        page.focus("body")
        tab_to(page, "a[href^='/login']")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/oauth/authorize" in url)
    else:
        page.goto("/login")
    _fill_login_form(page, email, password, keyboard=keyboard, code=code)
    page.wait_for_url(lambda url: url.startswith(portal.url) and "/callback" not in url)
    page.csp_errors.clear()  # the portal's own pages are checked; identity's page is its own
    page.goto("/")
    return page


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations of the WCAG 2.0/2.1/2.2 A and AA rules on the current page."""
    results = _AXE.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations: list[dict[str, Any]] = results.response["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(
            f"{n.get('target')} {n.get('failureSummary', '')[:200]}" for n in v["nodes"][:3]
        )
        for v in violations
    )


def tab_to(page: Any, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (a keyboard user's way)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "s => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def press(page: Any, key: str = "Enter") -> None:
    """A key that navigates (a link, a form's button): wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)
