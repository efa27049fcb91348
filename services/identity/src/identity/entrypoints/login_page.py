"""The accessible login page of the authorization endpoint (Dutch first, English on request)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape

from identity.domain.login_csp import login_page_csp
from identity.domain.texts import Text

_env = Environment(autoescape=select_autoescape(default=True), auto_reload=False)
_template = _env.from_string(
    files("identity").joinpath("templates/login.html").read_text(encoding="utf-8")
)

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Inloggen",
        "language": "Taal",
        "for_app": "Inloggen voor",
        "with_password": "Met e-mailadres en wachtwoord",
        "email": "E-mailadres",
        "password": "Wachtwoord",
        "with_code": "Of met een inlogcode",
        "code": "Inlogcode",
        "code_hint": "De code op uw brief, bijvoorbeeld K7MP-3QXA.",
        "submit": "Inloggen",
    },
    "en": {
        "title": "Log in",
        "language": "Language",
        "for_app": "Log in to",
        "with_password": "With e-mail address and password",
        "email": "E-mail address",
        "password": "Password",
        "with_code": "Or with a login code",
        "code": "Login code",
        "code_hint": "The code on your letter, for example K7MP-3QXA.",
        "submit": "Log in",
    },
}

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": login_page_csp(),
    "Referrer-Policy": "no-referrer",
}

ERROR_PAGE = Text(
    "Deze inlogaanvraag is ongeldig (onbekende app of niet-geregistreerd terugkeeradres). "
    "Ga terug naar de app en probeer het opnieuw.",
    "This login request is invalid (unknown app or unregistered return address). "
    "Go back to the app and try again.",
)


CSRF_REFUSED = Text(
    "Uw inlogpagina was verlopen of de aanvraag kwam niet van deze pagina. U bent niet "
    "ingelogd. Vul uw gegevens opnieuw in.",
    "Your login page had expired or the request did not come from this page. You have not "
    "been logged in. Please enter your details again.",
)


def pick_language(value: str | None) -> str:
    return "en" if value and value.lower().startswith("en") else "nl"


def render(
    *,
    lang: str,
    action: str,
    params: list[tuple[str, str]],
    status: int = 200,
    error: Text | None = None,
    show_form: bool = True,
    client_name: str | None = None,
    email: str = "",
    headers: dict[str, str] | None = None,
    csrf_token: str = "",
    redirect_uri: str | None = None,
) -> HTMLResponse:
    """`redirect_uri`: the VALIDATED one of the request, whose origin the form may be sent
    on to (`form-action`); None on pages for invalid requests."""
    other = "en" if lang == "nl" else "nl"
    switch_url = f"{action}?{urlencode([*params, ('ui_locales', other)])}"
    context: dict[str, Any] = {
        "lang": lang,
        "t": TEXTS[lang],
        "action": action,
        "hidden": params,
        "error": None if error is None else (error.nl if lang == "nl" else error.en),
        "show_form": show_form,
        "client_name": client_name,
        "email": email,
        "switch_url": switch_url,
        "csrf_token": csrf_token,
    }
    return HTMLResponse(
        _template.render(context),
        status_code=status,
        headers={
            **SECURITY_HEADERS,
            "Content-Security-Policy": login_page_csp(redirect_uri),
            **(headers or {}),
        },
    )
