"""What every page handler gets: the session, the language, the theme, the API client and a
renderer; plus the CSRF-checked form of a POST and the errors pages turn into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from portal.api import Api
from portal.security import CSRF_FIELD, CSRF_HEADER, cookie_name, csrf_valid, same_origin
from portal.sessions import Session, SessionStore, User
from portal.settings import Settings
from portal.texts import LANGUAGES, text
from portal.themes import THEMES, Theme, pick_theme

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "wk-lang"
THEME_COOKIE = "wk-theme"
MONTHS = {
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "en": "January February March April May June July August September October November December",
}


class NotAllowed(Exception):
    """The signed-in person lacks the role a page needs."""


class FormExpired(Exception):
    """A POST without the session's CSRF token (or from another origin)."""


class LoginNeeded(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def format_date(value: str | datetime | None, lang: str, *, with_time: bool = False) -> str:
    """'3 maart 2026' / '3 March 2026': words, not numbers, read aloud well."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    month = MONTHS["en" if lang == "en" else "nl"].split()[moment.month - 1]
    day = f"{moment.day} {month} {moment.year}"
    return f"{day}, {moment:%H:%M}" if with_time else day


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["format_date"] = format_date
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    # Compiled once per process: no file-system check of every template on every page.
    templates.env.auto_reload = False
    return templates


@dataclass
class Page:
    request: Request
    session: Session
    lang: str
    theme: Theme
    settings: Settings
    api: Api
    templates: Jinja2Templates

    @property
    def user(self) -> User | None:
        return self.session.user if self.session.signed_in else None

    def t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def require(self, *roles: str) -> User:
        """The signed-in person, with one of `roles` when given."""
        user = self.user
        if user is None:
            raise LoginNeeded(self.request.url.path)
        if roles and not user.roles() & set(roles):
            raise NotAllowed
        return user

    def flash(self, key: str) -> None:
        self.session.flashes.append(key)

    def redirect(self, path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        flashes, self.session.flashes = self.session.flashes, []
        user = self.user
        values = {
            "request": self.request,
            "t": self.t,
            "lang": self.lang,
            "other_lang": "en" if self.lang == "nl" else "nl",
            "theme": self.theme,
            "themes": list(THEMES.values()),
            "site_name": self.theme.site_name_en if self.lang == "en" else self.theme.site_name_nl,
            "user": user,
            "roles": user.roles() if user else set(),
            "csrf": self.session.csrf,
            "csrf_field": CSRF_FIELD,
            "flashes": [self.t(key) for key in flashes],
            "path": self.request.url.path,
            "current": self.request.url.path
            + (f"?{self.request.url.query}" if self.request.url.query else ""),
            "settings": self.settings,
            **context,
        }
        return self.templates.TemplateResponse(self.request, template, values, status_code=status)


def _store(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


async def page_context(request: Request) -> Page:
    settings: Settings = request.app.state.settings
    store = _store(request)
    session = store.get(request.cookies.get(cookie_name(settings.cookie_secure)))
    if session is None:
        session = store.new()
        request.state.session_cookie = (session.id, settings.session_max_seconds)
    request.state.session = session
    lang = request.cookies.get(LANG_COOKIE, "nl")
    if lang not in LANGUAGES:
        lang = "nl"
    user = session.user
    theme = pick_theme(
        request.cookies.get(THEME_COOKIE), sorted(user.orgs) if user else [], settings.default_theme
    )
    return Page(
        request=request,
        session=session,
        lang=lang,
        theme=theme,
        settings=settings,
        api=request.app.state.api,
        templates=request.app.state.templates,
    )


PageDep = Annotated[Page, Depends(page_context)]


async def checked_form(request: Request, page: PageDep) -> FormData:
    """The POSTed form, after the CSRF token (form field or htmx header) and Origin check."""
    form = await request.form()
    presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not same_origin(request.headers.get("origin"), page.settings.public_url) or not csrf_valid(
        page.session.csrf, presented if isinstance(presented, str) else None
    ):
        raise FormExpired
    return form


Form = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def fragment_or_redirect(page: Page, template: str, path: str, **context: Any) -> Response:
    """htmx gets the changed part of the page; without JavaScript the browser goes to `path`."""
    if page.is_htmx:
        return page.render(template, **context)
    return page.redirect(path)
