"""Log in (authorization code + PKCE at identity), the callback, and log out (the refresh
token revoked at identity, the session dropped)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from portal.api import ApiError
from portal.oidc import LoginFailed, PendingLogin, safe_next
from portal.sessions import SessionStore, User
from portal.texts import LANGUAGES
from portal.themes import THEMES
from portal.web import LANG_COOKIE, THEME_COOKIE, Form, PageDep

router = APIRouter()
YEAR = 365 * 24 * 3600


def _store(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


@router.get("/login")
async def login(page: PageDep, next: str = "/") -> Response:
    url, pending = await page.request.app.state.oidc.authorization_url(page.lang, next)
    page.session.pending_login = pending.as_dict()
    return RedirectResponse(url, status_code=303)


@router.get("/callback")
async def callback(page: PageDep, code: str = "", state: str = "", error: str = "") -> Response:
    pending = page.session.pending_login
    page.session.pending_login = None
    if error or not code or pending is None or state != pending.get("state"):
        page.flash("login_failed")
        return page.redirect("/")
    try:
        tokens = await page.request.app.state.oidc.exchange(code, pending)
    except LoginFailed:
        page.flash("login_failed")
        return page.redirect("/")
    session = _store(page.request).rotate(page.session)  # a new id once signed in
    session.tokens = tokens
    api = page.api
    try:
        me, claims = await asyncio.gather(
            api.get(session, "identity", "/me"), api.get(session, "identity", "/me/token")
        )
    except ApiError:
        session.tokens = None
        page.flash("login_failed")
        return page.redirect("/")
    session.user = User(
        person_id=str(me["id"]),
        display_name=str(me.get("display_name") or ""),
        tenant=str(claims.get("tenant", "")),
        orgs={org: list(roles) for org, roles in (claims.get("orgs") or {}).items()},
    )
    page.request.state.session_cookie = (session.id, page.settings.session_max_seconds)
    return page.redirect(safe_next(pending.get("next")))


@router.post("/logout")
async def logout(page: PageDep, _: Form) -> Response:
    tokens = page.session.tokens
    if tokens is not None:
        await page.request.app.state.oidc.revoke(tokens)
    _store(page.request).drop(page.session)
    notes = getattr(page.request.app.state, "notes", None)
    if notes is not None:  # what the professional's pages remembered goes with the session
        notes.drop(page.session.id)
    fresh = _store(page.request).new()
    fresh.flashes.append("logged_out")
    page.request.state.session_cookie = (fresh.id, page.settings.session_max_seconds)
    return page.redirect("/")


def _preference(name: str, value: str, secure: bool) -> str:
    return f"{name}={value}; Path=/; Max-Age={YEAR}; SameSite=Lax; HttpOnly" + (
        "; Secure" if secure else ""
    )


@router.get("/lang/{code}")
async def switch_language(page: PageDep, code: str, next: str = "/") -> Response:
    if code in LANGUAGES:
        page.request.state.extra_cookies = [
            _preference(LANG_COOKIE, code, page.settings.cookie_secure)
        ]
    return page.redirect(safe_next(next))


@router.get("/theme/{slug}")
async def switch_theme(page: PageDep, slug: str, next: str = "/") -> Response:
    if slug in THEMES:
        page.request.state.extra_cookies = [
            _preference(THEME_COOKIE, slug, page.settings.cookie_secure)
        ]
    return page.redirect(safe_next(next))


def login_path(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


__all__ = ["PendingLogin", "login_path", "router"]
