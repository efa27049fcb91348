"""Fixed interface texts of the rendered output, Dutch first."""

from __future__ import annotations

from datetime import date

from questionnaires.domain.i18n import Language, LocalizedText, t

NOT_ANSWERED = t("niet ingevuld", "not answered")
SKIPPED = t("Overgeslagen: hier praat ik liever niet over", "Skipped: I'd rather not discuss this")
YES = t("Ja", "Yes")
NO = t("Nee", "No")
DIMENSION = t("Onderwerp", "Topic")
SCORE_TABLE_CAPTION = t("Uw scores van 0 tot 10", "Your scores from 0 to 10")
CHART_DESC = t(
    "Spinnenweb met {n} onderwerpen op een schaal van 0 (midden) tot 10 (buitenrand).",
    "Spider-web chart of {n} topics on a scale from 0 (centre) to 10 (outer edge).",
)
TALK_ABOUT = t("Hier wil ik over praten", "I want to talk about this")
NOTHING_TO_TALK = t("U heeft geen onderwerpen aangekruist.", "You did not mark any topics.")
YOUR_ANSWERS = t("Uw antwoorden", "Your answers")
YOUR_RESULT = t("Uw uitkomst", "Your result")
NOTES = t("Aantekeningen voor het gesprek", "Notes for the conversation")
FILLED_IN_ON = t("Ingevuld op", "Filled in on")
FILLED_IN_WITH_HELP = t(
    "Samen met een medewerker ingevuld", "Filled in together with a staff member"
)
PRINT = t("Afdrukken", "Print")
# At the end of an invited response (B1): may the inviting organisation see the answers?
SHARE_WITH_INVITER = t(
    "Mag {organisation} uw antwoorden zien? Dan kunt u erover praten in het eerste gesprek. "
    "U kunt dit later altijd weer intrekken.",
    "May {organisation} see your answers? Then you can talk about them in your first "
    "conversation. You can always take this back later.",
)
SHARE_YES = t("Ja, dat mag", "Yes, they may")
SHARE_NO = t("Nee, liever niet", "No, I would rather not")
OUT_OF_TEN = t("van de 10", "out of 10")

_MONTHS = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def long_date(day: date, language: Language) -> str:
    """Written-out date ("6 januari 2025"): easier to read than 06-01-2025."""
    return f"{day.day} {_MONTHS[language][day.month - 1]} {day.year}"


def text(label: LocalizedText, language: Language) -> str:
    return label.get(language)
