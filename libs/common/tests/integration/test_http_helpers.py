"""Idempotency-Key, access log and the mail outbox on the real embedded database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wijkkracht_common.access_log import ACCESS_LOG, record_access
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Conflict, InvalidInput
from wijkkracht_common.idempotency import idempotent
from wijkkracht_common.mail import Mail, MailRelay, SmtpConfig, stage_mail, stage_mails
from wijkkracht_common.outbox import OUTBOX
from wijkkracht_common.storage import Storage
from wijkkracht_common.testing.plugin import MailSink

pytestmark = pytest.mark.integration


async def test_idempotency_key_replays_first_result(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-idem")
    calls: list[int] = []

    async def produce() -> tuple[int, Any]:
        calls.append(1)
        return 201, {"id": f"r{len(calls)}"}

    first = await idempotent(db, key="k1", scope="p1:create", body={"a": 1}, produce=produce)
    again = await idempotent(db, key="k1", scope="p1:create", body={"a": 1}, produce=produce)
    assert first.status_code == again.status_code == 201
    assert json.loads(again.body) == json.loads(first.body) == {"id": "r1"}
    assert again.headers["idempotent-replay"] == "true" and len(calls) == 1
    with pytest.raises(InvalidInput):
        await idempotent(db, key="k1", scope="p1:create", body={"a": 2}, produce=produce)
    # another caller's key is another key
    other = await idempotent(db, key="k1", scope="p2:create", body={"a": 1}, produce=produce)
    assert json.loads(other.body) == {"id": "r2"}


async def test_idempotency_concurrent_retry_gets_409(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-idem2")
    gate = asyncio.Event()

    async def slow() -> tuple[int, Any]:
        await gate.wait()
        return 201, {"ok": True}

    first = asyncio.create_task(idempotent(db, key="k", scope="s", body={}, produce=slow))
    await asyncio.sleep(0.1)
    with pytest.raises(Conflict):
        await idempotent(db, key="k", scope="s", body={}, produce=slow)
    gate.set()
    assert (await first).status_code == 201


async def test_failed_first_attempt_frees_the_key(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-idem3")

    async def boom() -> tuple[int, Any]:
        raise RuntimeError("x")

    async def fine() -> tuple[int, Any]:
        return 200, {"ok": 1}

    with pytest.raises(RuntimeError):
        await idempotent(db, key="k", scope="s", body={}, produce=boom)
    assert (await idempotent(db, key="k", scope="s", body={}, produce=fine)).status_code == 200


async def test_access_is_logged_and_sent_to_identity(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-access")
    staff = Principal(subject="prof-1", tenant="tenant-access", client_id="app")
    await record_access(
        db,
        service="questionnaires",
        principal=staff,
        resident="res-1",
        action="read",
        resource="response/r1",
        reason="share_results",
    )
    entry = await db[ACCESS_LOG].find_one({"resident": "res-1"})
    assert entry is not None
    assert (entry["actor"], entry["action"], entry["reason"]) == ("prof-1", "read", "share_results")
    staged = await db[OUTBOX].find_one({"type": "nl.wijkkracht.access.recorded.v1"})
    assert staged is not None and staged["subject"] == "wk.tenant-access.access.recorded.v1"
    assert "res-1" in staged["payload"] and "prof-1" in staged["payload"]


async def test_mail_outbox_delivers_to_smtp(storage: Storage, mail_sink: MailSink) -> None:
    db = await storage.tenant_db("tenant-mail")
    await stage_mail(
        db,
        Mail(
            to="inwoner@demo.test",
            subject="Uitnodiging / Invitation",
            text="Vul de vragenlijst in.",
            kind="invitation",
        ),
    )
    relay = MailRelay(storage, SmtpConfig("127.0.0.1", mail_sink.port, "wk@test"))
    assert await relay.run_once() == 1
    assert await relay.run_once() == 0  # sent once
    received = mail_sink.to("inwoner@demo.test")
    assert len(received) == 1 and received[0]["Subject"] == "Uitnodiging / Invitation"


async def test_mails_staged_together_are_each_delivered_once(
    storage: Storage, mail_sink: MailSink
) -> None:
    db = await storage.tenant_db("tenant-mail3")
    to = [f"vrijwilliger{i}@demo.test" for i in range(5)]
    ids = await stage_mails(
        db, [Mail(to=a, subject="Hulpvraag / Help request", text="t") for a in to]
    )
    assert len(set(ids)) == 5 and await stage_mails(db, []) == []
    relay = MailRelay(storage, SmtpConfig("127.0.0.1", mail_sink.port, "wk@test"))
    assert await relay.run_once() == 5
    assert await relay.run_once() == 0
    assert all(len(mail_sink.to(a)) == 1 for a in to)


async def test_mail_to_unreachable_smtp_stays_pending(storage: Storage) -> None:
    db = await storage.tenant_db("tenant-mail2")
    await stage_mail(db, Mail(to="a@b.test", subject="s", text="t"))
    relay = MailRelay(storage, SmtpConfig("127.0.0.1", 1, "wk@test"))
    assert await relay.run_once() == 0
    doc = await db.mail_outbox.find_one({})
    assert doc["status"] == "pending" and doc["attempts"] == 1 and doc["error"]
    # still a real datetime (nx-27017 stores datetimes set with $set as strings), so the
    # retry query `next_at <= now` keeps matching once the back-off has passed
    assert isinstance(doc["next_at"], datetime) and doc["next_at"] > datetime.now(UTC)
    assert (
        await db.mail_outbox.count_documents(
            {"next_at": {"$lte": doc["next_at"] + timedelta(seconds=1)}}
        )
        == 1
    )
