"""Credential checks, throttled by progressive delays (see `domain.login_throttle`).

Failures are counted per (account, source) and per source within the tenant, in the
database, so every replica sees the same counters. A source that has to wait gets 429 with
`Retry-After` before any password is checked; its attempt is not counted, so waiting works.
A source without failures is never delayed: the owner's right password from their own
device always works. Repeated failures on an account (from any source) send its owner a
notice by mail (`service.login_notices`). Refusals look the same whether or not the account
exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from identity.domain.emails import normalise_email
from identity.domain.login_codes import hash_code, normalise_code, redeem_login_code
from identity.domain.login_throttle import LoginFailure, source_of
from identity.domain.people import Person
from identity.domain.texts import DomainError, Text
from identity.service.context import Identity
from identity.service.login_notices import notify_owner_if_due

INVALID_LOGIN = Text(
    "E-mailadres of wachtwoord klopt niet.", "E-mail address or password is incorrect."
)
INVALID_CODE = Text(
    "Deze inlogcode is onbekend, al gebruikt of verlopen.",
    "This login code is unknown, already used or expired.",
)


class LoginRefused(Exception):
    def __init__(self, text: Text, retry_after: int | None = None) -> None:
        super().__init__(str(text))
        self.text = text
        self.retry_after = retry_after


def throttled_text(seconds: int) -> Text:
    if seconds < 60:
        nl = "1 seconde" if seconds == 1 else f"{seconds} seconden"
        en = "1 second" if seconds == 1 else f"{seconds} seconds"
    else:
        minutes = math.ceil(seconds / 60)
        nl = "1 minuut" if minutes == 1 else f"{minutes} minuten"
        en = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return Text(
        f"Te veel mislukte pogingen vanaf dit apparaat. Probeer het over {nl} opnieuw.",
        f"Too many failed attempts from this device. Please try again in {en}.",
    )


@dataclass(frozen=True)
class Throttle:
    ctx: Identity
    tenant: str
    source: str
    account: str | None = None  # None: a login code (counted per source only)

    async def check(self, now: datetime) -> None:
        """Raises LoginRefused (with Retry-After) while this source has to wait."""
        failures = (await self.ctx.tenant(self.tenant)).login_failures
        since = now - self.ctx.throttle.retention()
        decision = self.ctx.throttle.decide(
            now=now,
            account_source_failures=(
                []
                if self.account is None
                else await failures.of_account_source(self.account, self.source, since)
            ),
            source_failures=await failures.of_source(self.source, since),
        )
        if not decision.allowed and decision.retry_at is not None:
            wait = max(1, math.ceil((decision.retry_at - now).total_seconds()))
            raise LoginRefused(throttled_text(wait), retry_after=wait)

    async def failed(self, now: datetime, owner: Person | None = None) -> None:
        """Count the failure; tell the owner (if the account is theirs) when it is time."""
        repos = await self.ctx.tenant(self.tenant)
        await repos.login_failures.record(
            LoginFailure(account=self.account, source=self.source, at=now),
            expires_at=now + self.ctx.throttle.retention(),
        )
        if self.account is not None and owner is not None:
            await notify_owner_if_due(self.ctx, owner, self.account, now)


async def login_with_password(
    ctx: Identity, tenant: str, email: str, password: str, ip: str | None
) -> Person:
    try:
        address = normalise_email(email)
    except DomainError:
        raise LoginRefused(INVALID_LOGIN) from None
    throttle = Throttle(ctx, tenant, source_of(ip), account=address)
    now = ctx.now()
    await throttle.check(now)
    person = await (await ctx.tenant(tenant)).people.by_email(address)
    usable = person is not None and person.is_active
    ok = await ctx.verify_password(person.password_hash if usable and person else None, password)
    if not ok or person is None:
        await throttle.failed(now, person if usable else None)
        raise LoginRefused(INVALID_LOGIN)
    return person


async def login_with_code(ctx: Identity, tenant: str, typed: str, ip: str | None) -> Person:
    """Assisted residents: a printed one-time code. Decision: codes stay the way in; each code
    works once, and a professional prints a new one when needed (no e-mail, so no reset)."""
    throttle = Throttle(ctx, tenant, source_of(ip))
    now = ctx.now()
    await throttle.check(now)
    repos = await ctx.tenant(tenant)
    canonical = normalise_code(typed)
    record = (
        None if canonical is None else await repos.login_codes.get(hash_code(canonical, ctx.pepper))
    )
    redeemed = redeem_login_code(record, now=now)
    person = None if record is None else await repos.people.get(record.person_id)
    if (
        redeemed is None
        or person is None
        or not person.is_active
        or not await repos.login_codes.redeem(redeemed.code_hash, now)
    ):
        await throttle.failed(now)
        raise LoginRefused(INVALID_CODE)
    return person


async def check_current_password(
    ctx: Identity, person: Person, password: str, ip: str | None
) -> None:
    """Re-authentication for a password change, throttled like a login."""
    throttle = Throttle(ctx, person.tenant, source_of(ip), account=person.email or person.id)
    now = ctx.now()
    await throttle.check(now)
    if not await ctx.verify_password(person.password_hash, password):
        await throttle.failed(now, person)
        raise LoginRefused(INVALID_LOGIN)
