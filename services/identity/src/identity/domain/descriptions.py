"""Ids in plain words (B1), Dutch first, then English: roles, services, consent purposes,
and an access-log line as the resident understands it — who (name and role as the resident
knows them, e.g. "J. de Vries, sociaal werker"), what, and why.

Events carry ids only; identity resolves them when the resident reads the log or the export
summary, from its own people, memberships, organisations and API clients
(`service.access_log`); these functions only choose the words.
"""

from __future__ import annotations

from collections.abc import Iterable

from identity.domain.roles import Role
from identity.domain.texts import Text

#: The role a resident would name a person by, most specific first.
_ROLE_ORDER = (
    Role.PROFESSIONAL,
    Role.BROKER,
    Role.VOLUNTEER,
    Role.ORG_ADMIN,
    Role.TENANT_ADMIN,
    Role.NEIGHBOURHOOD_MANAGER,
    Role.CONTENT_EDITOR,
    Role.ANALYST,
    Role.PLATFORM_OPERATOR,
    Role.RESIDENT,
)
ROLE_LABELS: dict[Role, Text] = {
    Role.PROFESSIONAL: Text("sociaal werker", "social worker"),
    Role.VOLUNTEER: Text("vrijwilliger", "volunteer"),
    Role.ORG_ADMIN: Text("beheerder van de organisatie", "organisation administrator"),
    Role.TENANT_ADMIN: Text("beheerder", "administrator"),
    Role.NEIGHBOURHOOD_MANAGER: Text("wijkbeheerder", "neighbourhood manager"),
    Role.ANALYST: Text("analist", "analyst"),
    Role.PLATFORM_OPERATOR: Text("platformbeheerder", "platform operator"),
    Role.RESIDENT: Text("inwoner", "resident"),
    Role.CONTENT_EDITOR: Text("redacteur", "content editor"),
    Role.BROKER: Text("makelaar", "broker"),
}

SERVICE_LABELS: dict[str, Text] = {
    "identity": Text("Account en toestemmingen", "Account and consents"),
    "questionnaires": Text("Vragenlijsten", "Questionnaires"),
    "effect_measurement": Text("Effectmeting", "Effect measurement"),
    "social_map": Text("Sociale kaart", "Social map"),
    "learning_paths": Text("Leerpaden", "Learning paths"),
    "marketplace": Text("Hulp vragen en bieden", "Asking and offering help"),
}
PURPOSE_LABELS: dict[str, Text] = {
    "share_results": Text("uw uitslagen inzien", "see your results"),
    "share_learning_progress": Text("uw voortgang in leerpaden inzien", "see your learning"),
    "share_with_gp": Text("gegevens delen met uw huisarts", "share data with your GP"),
    "research": Text("uw gegevens gebruiken voor onderzoek", "use your data for research"),
    "marketplace_broker": Text(
        "namens u hulp vragen en bieden", "ask for and offer help on your behalf"
    ),
}

YOU = Text("U zelf", "You")
FORMER_STAFF = Text("Een medewerker (niet meer actief)", "A staff member (no longer active)")
AUTOMATIC = Text("Wijkkracht (automatisch)", "Wijkkracht (automatic)")
UNKNOWN_APP = Text("Een gekoppelde app", "A connected app")

_VERBS: dict[str, Text] = {
    "read": Text("bekeek", "viewed"),
    "list": Text("zag in een lijst", "saw in a list"),
    "create": Text("maakte", "created"),
    "update": Text("wijzigde", "changed"),
    "delete": Text("verwijderde", "deleted"),
    "export": Text("maakte een kopie van", "made a copy of"),
    "download": Text("downloadde", "downloaded"),
}
_OBJECTS: dict[str, Text] = {
    "response": Text("uw ingevulde vragenlijst", "your completed questionnaire"),
    "responses": Text("uw ingevulde vragenlijsten", "your completed questionnaires"),
    "person": Text("uw accountgegevens", "your account details"),
    "erasure": Text("uw verzoek om verwijdering", "your request for erasure"),
    "export": Text("al uw gegevens", "all your data"),
    "trajectory": Text("uw traject", "your trajectory"),
    "measurement": Text("uw meting", "your measurement"),
    "intervention": Text("een activiteit in uw traject", "an activity in your trajectory"),
    "enrolment": Text("uw leerpad", "your learning path"),
    "post": Text("uw bericht op de marktplaats", "your marketplace post"),
    "match": Text("uw match op de marktplaats", "your marketplace match"),
    "invitation": Text("uw uitnodiging voor een vragenlijst", "your invitation to a questionnaire"),
    "invitations": Text("de lijst met uitnodigingen", "the list of invitations"),
    "caseload": Text("uw naam en wijk", "your name and neighbourhood"),
    "consent": Text("uw toestemming", "your consent"),
}
_REASONS: dict[str, Text] = {
    "share_results": Text(
        "U gaf toestemming om uw uitslagen te delen.",
        "You allowed your results to be shared.",
    ),
    "share_learning_progress": Text(
        "U gaf toestemming om uw voortgang te delen.",
        "You allowed your progress to be shared.",
    ),
    "share_with_gp": Text(
        "U gaf toestemming om gegevens met uw huisarts te delen.",
        "You allowed your data to be shared with your GP.",
    ),
    "research": Text(
        "U gaf toestemming voor onderzoek.", "You allowed your data to be used for research."
    ),
    "marketplace_broker": Text(
        "U gaf toestemming dat iemand namens u hulp vraagt of biedt.",
        "You allowed someone to ask for or offer help on your behalf.",
    ),
    "caseload": Text(
        "U gaf deze organisatie toestemming; zo ziet een medewerker dat u cliënt bent.",
        "You gave this organisation consent; this is how a staff member sees you are a client.",
    ),
    "assisted_consent": Text(
        "Een medewerker legde op uw verzoek uw toestemming vast.",
        "A staff member recorded your consent at your request.",
    ),
    "administration": Text("Beheer van accounts.", "Managing accounts."),
    "erasure_administration": Text(
        "Afhandelen van uw verzoek om verwijdering.", "Handling your request for erasure."
    ),
    "resident_request": Text("U vroeg er zelf om.", "You asked for it yourself."),
    "written_request": Text(
        "U vroeg erom in een brief of formulier.", "You asked for it in writing."
    ),
    "assisted": Text(
        "U vulde de vragenlijst samen met een medewerker in.",
        "You filled in the questionnaire together with a staff member.",
    ),
    "invitation": Text(
        "Uw organisatie nodigde u uit voor een vragenlijst.",
        "Your organisation invited you to fill in a questionnaire.",
    ),
}


def short_name(display_name: str) -> str:
    """ "Jan de Vries" -> "J. de Vries"; a single name stays as it is."""
    parts = display_name.split()
    if len(parts) < 2:
        return display_name.strip()
    first = parts[0]
    initial = first if first.endswith(".") else f"{first[0].upper()}."
    return " ".join([initial, *parts[1:]])


def main_role(roles: Iterable[str]) -> Role | None:
    held = set(roles)
    return next((r for r in _ROLE_ORDER if r.value in held), None)


def person_label(display_name: str, roles: Iterable[str]) -> Text:
    name = short_name(display_name) or FORMER_STAFF.nl
    role = main_role(roles)
    if role is None:
        return Text(name, name)
    label = ROLE_LABELS[role]
    return Text(f"{name}, {label.nl}", f"{name}, {label.en}")


def app_label(name: str | None) -> Text:
    if not name:
        return UNKNOWN_APP
    return Text(f"De app '{name}'", f"The app '{name}'")


def what(action: str, resource: str) -> Text:
    """`read` + `response/<id>` -> "bekeek uw ingevulde vragenlijst"."""
    kind = resource.split("/", 1)[0]
    verb = _VERBS.get(action, Text(action, action))
    thing = _OBJECTS.get(kind, Text(f"uw gegevens ({kind})", f"your data ({kind})"))
    return Text(f"{verb.nl} {thing.nl}", f"{verb.en} {thing.en}")


def why(reason: str) -> Text:
    return _REASONS.get(reason, Text(f"Reden: {reason}", f"Reason: {reason}"))


def service_label(service: str) -> Text:
    return SERVICE_LABELS.get(service, Text(service, service))


def purpose_label(purpose: str) -> Text:
    return PURPOSE_LABELS.get(purpose, Text(purpose, purpose))
