"""Telling an account's owner about repeated failed logins (OWASP ASVS: users are notified
of suspicious authentication attempts), by mail through the mail outbox, at most once per
`WK_LOGIN_NOTICE_INTERVAL_SECONDS`. Decided and staged in one transaction, so two replicas
cannot both send it."""

from __future__ import annotations

from datetime import datetime

from wijkkracht_common.mail import Mail
from wijkkracht_common.observability import get_logger
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from identity.domain.login_notice import failed_logins_notice
from identity.domain.people import Person
from identity.service.context import Db, Identity

log = get_logger(__name__)


async def notify_owner_if_due(ctx: Identity, owner: Person, account: str, now: datetime) -> bool:
    """After a failed login on `account` (the owner's e-mail, or id): stage the notice when
    the failures of all sources reached the policy's threshold. True when staged."""
    policy = ctx.throttle
    since = now - policy.retention()
    repos = await ctx.tenant(owner.tenant)
    failures = await repos.login_failures.count_of_account(account, since)
    if owner.email is None or failures < policy.notice_after:
        return False

    async def work(db: Db, session: Session) -> tuple[bool, list[Staged]]:
        within = ctx.within(db, session)
        last = await within.login_notices.last_sent(account)
        if not policy.notice_due(now=now, account_failures=failures, last_notice=last):
            return False, []
        notice = failed_logins_notice(owner.display_name, failures)
        assert owner.email is not None
        await within.mail.stage(
            Mail(to=owner.email, subject=notice.subject, text=notice.text, kind="failed_logins")
        )
        await within.login_notices.mark_sent(account, now)
        return True, []

    staged: bool = await ctx.runtime.commit(owner.tenant, work)
    if staged:
        ctx.runtime.notify_mail()
        log.info("failed-login notice staged", person_id=owner.id, failures=failures)
    return staged
