"""The accessibility statement's facts: what is tested and how. The browser tests
(`tests/browser`) walk the same list of pages, so the statement cannot claim more than they do."""

from __future__ import annotations

from dataclasses import dataclass

STANDARD = "WCAG 2.2, niveau AA (EN 301 549)"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21aa", "wcag22aa")


@dataclass(frozen=True)
class TestedPage:
    key: str
    role: str
    nl: str
    en: str


PAGES: tuple[TestedPage, ...] = (
    TestedPage("home", "anonymous", "Startpagina", "Home page"),
    TestedPage("statement", "anonymous", "Toegankelijkheidsverklaring", "Accessibility statement"),
    TestedPage("home", "resident", "Startpagina na inloggen", "Home page after logging in"),
    TestedPage("selftest", "resident", "Vragenlijst kiezen", "Choosing a questionnaire"),
    TestedPage("question", "resident", "Eén vraag per scherm", "One question per screen"),
    TestedPage("all", "resident", "Alle vragen op één pagina", "All questions on one page"),
    TestedPage("review", "resident", "Antwoorden controleren", "Checking the answers"),
    TestedPage("results", "resident", "Mijn uitslagen", "My results"),
    TestedPage("result", "resident", "Uitslag met spinnenweb", "Result with spider web"),
    TestedPage("offers", "resident", "Activiteiten in de buurt", "Activities nearby"),
    TestedPage("mydata", "resident", "Mijn gegevens: toestemming", "My data: permissions"),
    TestedPage("access", "resident", "Wie heeft mijn gegevens bekeken", "Who looked at my data"),
    TestedPage("export", "resident", "Al mijn gegevens downloaden", "Download all my data"),
    TestedPage("erasure", "resident", "Gegevens laten wissen", "Having data erased"),
    TestedPage("caseload", "professional", "Mijn inwoners", "My residents"),
    TestedPage(
        "resident",
        "professional",
        "Een inwoner: uitslagen, huiswerk, buurtmarkt",
        "A resident: results, homework, market",
    ),
    TestedPage("register", "professional", "Inwoner inschrijven", "Registering a resident"),
    TestedPage("login_code", "professional", "Inlogcode afdrukken", "Printing a login code"),
    TestedPage(
        "together", "professional", "Samen invullen: één vraag", "Filling in together: a question"
    ),
    TestedPage(
        "together_review",
        "professional",
        "Samen invullen: controleren",
        "Filling in together: checking",
    ),
    TestedPage(
        "together_done", "professional", "Samen ingevuld: uitslag", "Filled in together: result"
    ),
    TestedPage(
        "socialmap",
        "neighbourhood_manager",
        "Sociale kaart bijhouden",
        "Keeping the social map up to date",
    ),
    TestedPage("dashboards", "analyst", "Cijfers per wijk", "Figures per neighbourhood"),
)

#: Learning and the neighbourhood market, walked by `tests/browser/test_learning_market.py`
#: (same checks: axe-core per language and theme, top tasks keyboard-only and without
#: JavaScript).
LEARNING_MARKET_PAGES: tuple[TestedPage, ...] = (
    TestedPage(
        "learning", "resident", "Leren: huiswerk en cursussen", "Learning: homework and courses"
    ),
    TestedPage("entry", "resident", "Leerlijn: waar begin ik", "Learning path: where to start"),
    TestedPage("enrolment", "resident", "Een cursus: alle stappen", "A course: all steps"),
    TestedPage("step_text", "resident", "Stap: lezen", "Step: reading"),
    TestedPage("step_checklist", "resident", "Stap: lijstje", "Step: checklist"),
    TestedPage("step_exercise", "resident", "Stap: opdracht", "Step: exercise"),
    TestedPage("step_quiz", "resident", "Stap: vragen", "Step: questions"),
    TestedPage("step_plan", "resident", "Stap: mijn plan", "Step: my plan"),
    TestedPage("step_offer", "resident", "Stap: in de buurt", "Step: nearby"),
    TestedPage("step_print", "resident", "Stap afdrukken", "Printing a step"),
    TestedPage("market", "resident", "Buurtmarkt bekijken", "Browsing the market"),
    TestedPage("ask", "resident", "Hulp vragen", "Asking for help"),
    TestedPage("offer", "resident", "Hulp aanbieden", "Offering help"),
    TestedPage("mine", "resident", "Mijn berichten op de buurtmarkt", "My posts on the market"),
    TestedPage("own_post", "resident", "Mijn bericht met reacties", "My post with responses"),
    TestedPage("other_post", "resident", "Reageren of melden", "Responding or reporting"),
    TestedPage("match", "resident", "Berichten en contactgegevens", "Messages and contact details"),
    TestedPage("groups", "resident", "Groepen", "Groups"),
)

METHODS_NL = (
    "Elke pagina hierboven wordt bij elke wijziging automatisch getest in een echte browser (Chromium), in het Nederlands en in het Engels, in beide huisstijlen.",
    "Automatische controle met axe-core op de regels van WCAG 2.0, 2.1 en 2.2 niveau A en AA. Er mogen geen fouten zijn.",
    "Elke hoofdtaak wordt helemaal met alleen het toetsenbord gedaan (Tab, Enter, spatie).",
    "Elke hoofdtaak werkt ook als JavaScript uit staat.",
    "De pagina's hebben een vaste opbouw met koppen, een link 'Direct naar de inhoud' en grote knoppen (minstens 44 bij 44 pixels).",
    "Teksten zijn geschreven op taalniveau B1. Data staan in woorden, zodat voorleessoftware ze goed uitspreekt.",
)
METHODS_EN = (
    "Every page above is tested automatically on every change in a real browser (Chromium), in Dutch and in English, in both looks.",
    "Automatic checks with axe-core against the rules of WCAG 2.0, 2.1 and 2.2 level A and AA. There may be no errors.",
    "Every main task is done completely with the keyboard only (Tab, Enter, space).",
    "Every main task also works with JavaScript switched off.",
    "Pages have a fixed structure with headings, a 'Skip to the content' link and large buttons (at least 44 by 44 pixels).",
    "Texts are written at language level B1. Dates are written in words, so read-aloud software says them well.",
)
LIMITS_NL = (
    "Automatische tests vinden niet alle problemen. Daarom testen we ook met de hand, met toetsenbord en voorleessoftware.",
    "De inlogpagina is van het platform (identity) en wordt daar apart getest.",
)
LIMITS_EN = (
    "Automatic tests do not find every problem. That is why we also test by hand, with the keyboard and read-aloud software.",
    "The login page belongs to the platform (identity) and is tested there separately.",
)
ROLE_NAMES = {
    "anonymous": ("Bezoeker (niet ingelogd)", "Visitor (not logged in)"),
    "resident": ("Inwoner", "Resident"),
    "professional": ("Sociaal werker", "Social worker"),
    "neighbourhood_manager": ("Wijkbeheerder", "Neighbourhood manager"),
    "analyst": ("Analist", "Analyst"),
}
