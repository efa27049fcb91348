"""The end-session endpoint's own page: "you are logged out", or why the logout request was
not honoured (Dutch first, English on request; no redirect then)."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

from identity.domain.texts import Text
from identity.entrypoints.login_page import SECURITY_HEADERS

LOGGED_OUT = Text(
    "U bent afgemeld. U kunt dit venster sluiten.",
    "You have been logged out. You may close this window.",
)
REFUSED = Text(
    "Dit afmeldverzoek is ongeldig (onbekende app, niet-geregistreerd terugkeeradres of een "
    "ongeldig token). Ga terug naar de app.",
    "This logout request is invalid (unknown app, unregistered return address or an invalid "
    "token). Go back to the app.",
)
TITLE = Text("Afmelden", "Log out")


def render_logout(*, lang: str, ok: bool) -> HTMLResponse:
    def pick(text: Text) -> str:
        return escape(text.nl if lang == "nl" else text.en)

    message = LOGGED_OUT if ok else REFUSED
    role = "status" if ok else "alert"
    page = (
        f'<!doctype html>\n<html lang="{lang}">\n<head>\n  <meta charset="utf-8">\n'
        '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"  <title>{pick(TITLE)} – Wijkkracht</title>\n"
        "  <style>body { font-family: system-ui, sans-serif; max-width: 30rem; "
        "margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }</style>\n</head>\n<body>\n"
        f'  <main>\n    <h1>{pick(TITLE)}</h1>\n    <p role="{role}">{pick(message)}</p>\n'
        "  </main>\n</body>\n</html>\n"
    )
    return HTMLResponse(page, status_code=200 if ok else 400, headers=SECURITY_HEADERS)
