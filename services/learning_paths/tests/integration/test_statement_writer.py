"""The group writer of statements on the real database: concurrent requests share one
transaction, and each still gets its own answer — re-sends stored once, a conflicting
re-send 409, a voided voiding statement 400, a request that fails in the database fails
alone while the others of its group are stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from learning_paths.adapters.lrs import STATEMENTS
from learning_paths.domain.xapi.errors import XapiError
from learning_paths.service.lrs import Incoming, Lrs, caller_of
from learning_paths.service.statement_writer import StatementWriter
from lp_harness import ORG, Api
from wijkkracht_common.auth import Principal
from wijkkracht_common.testing.plugin import TwoTenants

pytestmark = pytest.mark.integration

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def statement(n: int, activity: str = "http://example.org/a/1") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": f"mailto:learner{n}@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": activity, "definition": {"name": {"nl": "Stap"}}},
    }


def voiding(target: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:beheer@example.org"},
        "verb": {"id": VOIDED},
        "object": {"objectType": "StatementRef", "id": target},
    }


def copy(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(s) for s in statements]  # store() fills in ids: each request its own dicts


class Counting:
    """Passes every transaction to the runtime's commit, counting them."""

    def __init__(self, commit: Callable[..., Awaitable[Any]]) -> None:
        self.commit = commit
        self.calls = 0

    async def __call__(self, tenant: str, work: Any) -> Any:
        self.calls += 1
        return await self.commit(tenant, work)


async def answers(lrs: Lrs, caller: Any, requests: list[list[dict[str, Any]]]) -> list[Any]:
    """The requests at once (store() queues each before the writer runs: one group)."""
    return await asyncio.gather(
        *(lrs.store(caller, Incoming(copy(r), batch=True)) for r in requests),
        return_exceptions=True,
    )


async def stored_ids(api: Api, tenant: str) -> list[str]:
    db = await api.app.state.runtime.storage.tenant_db(tenant)
    return [d["_id"] async for d in db[STATEMENTS].find({}, {"_id": 1})]


def client(tenant: str) -> Principal:
    return Principal(
        subject="client:lrs", tenant=tenant, client_id="lrs", orgs={ORG: frozenset({"service"})}
    )


async def test_requests_of_one_group_get_their_own_answers(
    api: Api, two_tenants: TwoTenants
) -> None:
    t = two_tenants.a
    lrs: Lrs = api.app.state.lrs
    caller = caller_of(client(t), lrs.home_page)
    first = [statement(n) for n in range(50)]
    assert len(await lrs.store(caller, Incoming(copy(first), batch=True))) == 50

    counting = Counting(lrs.writer._commit)
    lrs.writer._commit = counting
    fresh = [statement(n) for n in range(50, 100)]
    changed = {**first[3], "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    void_first = voiding(first[0]["id"])
    results = await answers(
        lrs,
        caller,
        [
            fresh,  # new: stored
            first,  # the same again: accepted, nothing stored twice
            [statement(200), changed],  # an id stored with other content: 409, nothing of it
            [*fresh[:10], statement(201)],  # ids an earlier request of the group stores: fine
            [void_first],  # voids a stored statement
            [voiding(void_first["id"])],  # voids that voiding statement: 400
        ],
    )
    assert counting.calls == 1  # one transaction for the whole group
    assert results[0] == [s["id"] for s in fresh]
    assert results[1] == [s["id"] for s in first]
    assert isinstance(results[2], XapiError) and results[2].status == 409
    assert len(results[3]) == 11
    assert results[4] == [void_first["id"]]
    assert isinstance(results[5], XapiError) and results[5].status == 400

    ids = await stored_ids(api, t)
    assert len(ids) == len(set(ids)) == 50 + 50 + 1 + 1  # first, fresh, 201, the voiding one
    assert set(ids) == {s["id"] for s in first + fresh} | {
        results[3][-1],
        void_first["id"],
    }
    with pytest.raises(XapiError) as gone:
        await lrs.one(caller, first[0]["id"], voided=False)
    assert gone.value.status == 404
    assert (await lrs.one(caller, first[0]["id"], voided=True)).id == first[0]["id"]


async def test_a_request_that_fails_in_the_database_fails_alone(
    api: Api, two_tenants: TwoTenants
) -> None:
    """When the group's transaction fails, every request is written again on its own: the
    one that caused it gets the error, the others are stored (and answered) all the same."""
    t = two_tenants.a
    lrs: Lrs = api.app.state.lrs
    caller = caller_of(client(t), lrs.home_page)
    poisoned = "http://example.org/weigert"
    update = lrs._update_definitions

    async def after_insert(tenant: str, store: Any, done: list[dict[str, Any]]) -> Any:
        if any(s["object"]["id"] == poisoned for s in done):
            raise RuntimeError("the database refused a document")
        return await update(tenant, store, done)

    counting = Counting(lrs.writer._commit)
    lrs.writer = StatementWriter(counting, after_insert)
    good = [[statement(n, f"http://example.org/a/{n}")] for n in range(3)]
    bad = [statement(9), statement(10, poisoned)]
    results = await answers(lrs, caller, [good[0], bad, good[1], good[2]])
    assert counting.calls == 1 + 4  # the group, then each request alone
    assert isinstance(results[1], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 1] == [[g[0]["id"]] for g in good]
    assert sorted(await stored_ids(api, t)) == sorted(g[0]["id"] for g in good)
    # the definitions of the rolled-back group were merged again by the requests alone
    found = await lrs.definitions(t, [f"http://example.org/a/{n}" for n in range(3)])
    assert len(found) == 3


async def test_concurrent_http_batches_store_each_statement_once(
    api: Api, two_tenants: TwoTenants
) -> None:
    """Through HTTP: many batches of 50 at once, then all of them again with the same ids."""
    t = two_tenants.a
    headers = {**api.as_(t, "client:backend"), "X-Experience-API-Version": "2.0.0"}
    batches = [[statement(b * 50 + n) for n in range(50)] for b in range(8)]

    async def send_all() -> list[int]:
        sent = await asyncio.gather(
            *(
                api.client.post("/learning-paths/v1/xapi/statements", json=b, headers=headers)
                for b in batches
            )
        )
        return [r.status_code for r in sent]

    assert await send_all() == [200] * 8
    assert await send_all() == [200] * 8
    ids = await stored_ids(api, t)
    assert len(ids) == len(set(ids)) == 400
