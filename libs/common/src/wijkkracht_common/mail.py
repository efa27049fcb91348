"""E-mail through an outbox: staged in the same transaction as the change that causes it,
sent by a relay over SMTP (aiosmtplib), retried with back-off, never lost, never sent twice
by one relay pass. In dev, `make run` starts a local mail sink that writes `.eml` files to
`.data/mail/` (see README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.observability import get_logger
from wijkkracht_common.periodic import PeriodicTask
from wijkkracht_common.storage import (
    ASCENDING,
    Database,
    IndexModel,
    IndexSpec,
    Session,
    Storage,
)

MAIL_OUTBOX = "mail_outbox"
MAIL_INDEXES = IndexSpec(
    MAIL_OUTBOX, (IndexModel([("status", ASCENDING), ("next_at", ASCENDING)]),)
)
MAX_ATTEMPTS = 8

log = get_logger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    kind: str = "generic"  # for logs and metrics, e.g. "invitation", "verification"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False


async def stage_mail(
    db: Database[dict[str, Any]], mail: Mail, *, session: Session | None = None
) -> str:
    [mail_id] = await stage_mails(db, [mail], session=session)
    return mail_id


async def stage_mails(
    db: Database[dict[str, Any]], mails: Sequence[Mail], *, session: Session | None = None
) -> list[str]:
    """Stage several mails in one insert: inside a transaction every operation is a round
    trip, and a new help request may mail twenty volunteers."""
    if not mails:
        return []
    now = datetime.now(UTC)
    docs = [_outbox_document(mail, now) for mail in mails]
    await db[MAIL_OUTBOX].insert_many(docs, session=session)
    return [doc["_id"] for doc in docs]


def _outbox_document(mail: Mail, now: datetime) -> dict[str, Any]:
    return {
        "_id": new_event_id(),
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
        "kind": mail.kind,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_at": now,
    }


def _message(doc: dict[str, Any], sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = doc["to"]
    message["Subject"] = doc["subject"]
    message["Message-ID"] = f"<{doc['_id']}@wijkkracht>"
    message.set_content(doc["text"])
    if doc.get("html"):
        message.add_alternative(doc["html"], subtype="html")
    return message


class MailRelay:
    def __init__(self, storage: Storage, smtp: SmtpConfig, *, poll_seconds: float = 2.0) -> None:
        self._storage = storage
        self._smtp = smtp
        self._job = PeriodicTask("mail-relay", self.run_once, poll_seconds)

    def notify(self) -> None:
        self._job.trigger()

    async def run_once(self) -> int:
        sent = 0
        now = datetime.now(UTC)
        for tenant in await self._storage.tenants():
            db = await self._storage.tenant_db(tenant)
            due = (
                await db[MAIL_OUTBOX]
                .find({"status": "pending", "next_at": {"$lte": now}})
                .limit(100)
                .to_list(None)
            )
            for doc in due:
                try:
                    await aiosmtplib.send(
                        _message(doc, self._smtp.sender),
                        hostname=self._smtp.host,
                        port=self._smtp.port,
                        username=self._smtp.username,
                        password=self._smtp.password,
                        start_tls=self._smtp.starttls,
                        timeout=10,
                    )
                except (aiosmtplib.SMTPException, OSError) as error:
                    attempts = int(doc.get("attempts", 0)) + 1
                    status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
                    # replace_one, not $set: nx-27017 turns a datetime set with $set into a
                    # string, and `next_at <= now` would never match again (never retried).
                    await db[MAIL_OUTBOX].replace_one(
                        {"_id": doc["_id"]},
                        {
                            **doc,
                            "attempts": attempts,
                            "status": status,
                            "error": str(error),
                            "next_at": now + timedelta(seconds=30 * 2**attempts),
                        },
                    )
                    log.warning(
                        "mail not sent", kind=doc.get("kind"), attempts=attempts, error=str(error)
                    )
                    continue
                await db[MAIL_OUTBOX].update_one(
                    {"_id": doc["_id"]}, {"$set": {"status": "sent", "sent_at": datetime.now(UTC)}}
                )
                sent += 1
        return sent

    def start(self) -> None:
        self._job.start()

    async def stop(self) -> None:
        await self._job.stop()
