"""Credential checks with throttling per account and per client IP (within a tenant).

Failures are stored with a TTL; the pure `LoginThrottlePolicy` decides. While locked, an
attempt is refused before the password is checked and is not counted, so waiting works.
The per-IP counter is kept per tenant: one tenant's attack does not lock out another
tenant's users behind the same NAT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from identity.domain.emails import normalise_email
from identity.domain.login_codes import hash_code, normalise_code, redeem_login_code
from identity.domain.people import Person
from identity.domain.texts import DomainError, Text
from identity.service.context import Identity

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
    minutes = max(1, (seconds + 59) // 60)
    return Text(
        f"Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw.",
        f"Too many failed attempts. Please try again in {minutes} minutes.",
    )


@dataclass(frozen=True)
class Throttle:
    ctx: Identity
    tenant: str
    keys: tuple[str, ...]

    async def check(self, now: datetime) -> None:
        failures = (await self.ctx.tenant(self.tenant)).login_failures
        since = now - self.ctx.throttle.retention()
        account = [k for k in self.keys if k.startswith("account:")]
        ip = [k for k in self.keys if k.startswith("ip:")]
        decision = self.ctx.throttle.decide(
            now=now,
            account_failures=[t for k in account for t in await failures.since(k, since)],
            ip_failures=[t for k in ip for t in await failures.since(k, since)],
        )
        if not decision.allowed and decision.locked_until is not None:
            wait = max(1, int((decision.locked_until - now).total_seconds()) + 1)
            raise LoginRefused(throttled_text(wait), retry_after=wait)

    async def failed(self, now: datetime) -> None:
        failures = (await self.ctx.tenant(self.tenant)).login_failures
        await failures.record(self.keys, now, now + self.ctx.throttle.retention())


def _ip_key(ip: str | None) -> str:
    return f"ip:{ip or 'unknown'}"


async def login_with_password(
    ctx: Identity, tenant: str, email: str, password: str, ip: str | None
) -> Person:
    try:
        address = normalise_email(email)
    except DomainError:
        raise LoginRefused(INVALID_LOGIN) from None
    throttle = Throttle(ctx, tenant, (f"account:{address}", _ip_key(ip)))
    now = ctx.now()
    await throttle.check(now)
    person = await (await ctx.tenant(tenant)).people.by_email(address)
    usable = person is not None and person.is_active
    ok = await ctx.verify_password(person.password_hash if usable and person else None, password)
    if not ok or person is None:
        await throttle.failed(now)
        raise LoginRefused(INVALID_LOGIN)
    return person


async def login_with_code(ctx: Identity, tenant: str, typed: str, ip: str | None) -> Person:
    """Assisted residents: a printed one-time code. Decision: codes stay the way in; each code
    works once, and a professional prints a new one when needed (no e-mail, so no reset)."""
    throttle = Throttle(ctx, tenant, (_ip_key(ip),))
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
    throttle = Throttle(ctx, person.tenant, (f"account:{person.email or person.id}", _ip_key(ip)))
    now = ctx.now()
    await throttle.check(now)
    if not await ctx.verify_password(person.password_hash, password):
        await throttle.failed(now)
        raise LoginRefused(INVALID_LOGIN)
