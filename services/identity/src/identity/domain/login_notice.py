"""The notice to an account's owner after repeated failed logins (plain language, B1;
Dutch first, then English). Says what happened and what to do; the account is not blocked,
so it never asks the owner to wait."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str


def failed_logins_notice(display_name: str, failures: int) -> Notice:
    name = display_name.strip()
    dutch = f"""Beste {name or "gebruiker"},

Iemand probeerde in te loggen op uw Wijkkracht-account. Dat is niet gelukt: het
wachtwoord was {failures} keer fout.

Was u dat zelf? Dan hoeft u niets te doen.

Was u dat niet? Dan kent iemand misschien uw e-mailadres. Uw account is niet
geblokkeerd. U kunt gewoon inloggen. Denkt u dat iemand uw wachtwoord kent? Kies dan
een nieuw wachtwoord. Gebruik dat wachtwoord nergens anders."""
    english = f"""Dear {name or "user"},

Someone tried to log in to your Wijkkracht account. It did not work: the password was
wrong {failures} times.

Was this you? Then you do not need to do anything.

Was this not you? Then someone may know your e-mail address. Your account is not
blocked. You can log in as usual. Do you think someone knows your password? Then choose
a new password. Do not use that password anywhere else."""
    return Notice(
        subject="Mislukte inlogpogingen op uw account / Failed login attempts on your account",
        text=f"{dutch}\n\n---\n\n{english}\n",
    )
