"""The base app's hardening without I/O: 503 for an unreachable database or broker, bounded
readiness checks, request body limits (declared, streamed and chunked), driver timeouts in
the settings' database URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats.errors
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from pymongo.errors import AutoReconnect, DuplicateKeyError, ServerSelectionTimeoutError
from wijkkracht_common import errors
from wijkkracht_common.errors import unavailable_dependency
from wijkkracht_common.http_app import MIB, create_base_app
from wijkkracht_common.observability import ServiceMetrics
from wijkkracht_common.settings import BaseServiceSettings, with_url_options

pytestmark = pytest.mark.unit

LIMIT = 1000


class Note(BaseModel):
    text: str


@asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


def build_app(
    readiness: dict[str, Callable[[], Awaitable[bool]]] | None = None, **overrides: Any
) -> FastAPI:
    settings = BaseServiceSettings(
        service_name="hardening",
        max_request_body_bytes=LIMIT,
        unavailable_retry_after_seconds=9,
        readiness_timeout_seconds=0.2,
        **overrides,
    )
    app = create_base_app(
        settings,
        title="t",
        prefix="/t",
        metrics=ServiceMetrics("hardening"),
        readiness=readiness or {},
        lifespan=no_lifespan,
    )
    router = APIRouter()
    errors: dict[str, Exception] = {
        "auto-reconnect": AutoReconnect("connection refused"),
        "server-selection": ServerSelectionTimeoutError("no server"),
        "nats-timeout": nats.errors.TimeoutError(),
        "nats-closed": nats.errors.ConnectionClosedError(),
        "nats-no-servers": nats.errors.NoServersError(),
        "duplicate": DuplicateKeyError("dup"),
    }

    @router.get("/fail/{name}")
    async def fail(name: str) -> None:
        raise errors[name]

    @router.get("/wrapped")
    async def wrapped() -> None:
        try:
            raise AutoReconnect("gone")
        except AutoReconnect as error:
            raise RuntimeError("could not load") from error

    @router.post("/notes")
    async def note(body: Note) -> dict[str, int]:
        return {"length": len(body.text)}

    @router.post("/imports", max_body_size=5 * LIMIT)
    async def import_(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @router.post("/tiny", max_body_size=10)
    async def tiny(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.include_router(router, prefix="/t")
    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    # raise_app_exceptions=False: a 500 must reach the test as a response
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.mark.parametrize(
    ("name", "dependency"),
    [
        ("auto-reconnect", "database"),
        ("server-selection", "database"),
        ("nats-timeout", "broker"),
        ("nats-closed", "broker"),
        ("nats-no-servers", "broker"),
    ],
)
async def test_an_unreachable_dependency_is_a_503_problem(name: str, dependency: str) -> None:
    async with client_for(build_app()) as client:
        response = await client.get(f"/t/fail/{name}")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "9"
    body = response.json()
    assert body["type"] == "urn:wijkkracht:problem:service-unavailable"
    assert body["instance"] == f"/t/fail/{name}"
    # Dutch first, then English; the text names what is away
    nl, en = body["detail"].split(" / ")
    assert {"database": "database", "broker": "Messaging"}[dependency] in en and nl


class QuietLog:
    """Stands in for the module's logger: rendering a traceback on a console is slow."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def exception(self, event: str, **_: Any) -> None:
        self.events.append(event)

    def warning(self, event: str, **_: Any) -> None:
        self.events.append(event)


async def test_an_unavailable_cause_is_a_503_and_other_errors_stay_500(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quiet = QuietLog()
    monkeypatch.setattr(errors, "log", quiet)
    async with client_for(build_app()) as client:
        wrapped = await client.get("/t/wrapped")
        other = await client.get("/t/fail/duplicate")
    assert wrapped.status_code == 503 and wrapped.headers["retry-after"] == "9"
    assert other.status_code == 500
    assert other.json()["type"].endswith("internal-error")
    assert quiet.events == ["dependency unavailable", "unhandled error"]


def test_unavailable_dependency_reads_causes_and_groups() -> None:
    assert unavailable_dependency(ValueError("x")) is None
    group = ExceptionGroup("g", [ValueError("x"), nats.errors.NoRespondersError()])
    assert unavailable_dependency(group) == "broker"
    try:
        try:
            raise ServerSelectionTimeoutError("x")
        except ServerSelectionTimeoutError:
            raise KeyError("k")  # noqa: B904 - the implicit context is the point
    except KeyError as error:
        assert unavailable_dependency(error) == "database"


async def test_readyz_bounds_every_check_and_runs_them_together() -> None:
    stalled = asyncio.Event()
    started: list[str] = []

    async def hangs() -> bool:
        started.append("hangs")
        await stalled.wait()  # never set: a dependency that does not answer
        return True

    async def fine() -> bool:
        started.append("fine")
        return True

    async def broken() -> bool:
        raise ConnectionError("down")

    app = build_app({"database": hangs, "nats": fine, "cache": broken})
    async with client_for(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not-ready",
        "checks": {"database": False, "nats": True, "cache": False},
    }
    assert sorted(started) == ["fine", "hangs"]


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["connection"] == "close"
    body = response.json()
    assert body["type"] == "urn:wijkkracht:problem:payload-too-large"
    assert body["status"] == 413 and body["max_bytes"] == limit
    assert f"max {limit} bytes" in body["detail"]


async def test_a_declared_body_over_the_limit_is_a_413_problem() -> None:
    async with client_for(build_app()) as client:
        small = await client.post("/t/notes", json={"text": "x" * 500})
        large = await client.post("/t/notes", json={"text": "x" * 2 * LIMIT})
        # also where the route never reads the body
        ignored = await client.request("GET", "/healthz", content=b"x" * 2 * LIMIT)
    assert small.status_code == 200
    assert_too_large(large, LIMIT)
    assert_too_large(ignored, LIMIT)


async def test_a_streamed_body_is_refused_before_it_is_read_whole() -> None:
    """Chunked, no Content-Length: counted while it arrives, refused once past the limit."""
    chunks_read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_read
        for _ in range(1000):  # 100 kB in all, 100 times the limit
            chunks_read += 1
            yield b" " * 100

    async with client_for(build_app()) as client:
        response = await client.post(
            "/t/notes", content=body(), headers={"content-type": "application/json"}
        )
    assert "content-length" not in response.request.headers
    assert_too_large(response, LIMIT)
    assert chunks_read < 1000


async def test_a_route_declares_its_own_limit_larger_or_smaller() -> None:
    async with client_for(build_app()) as client:
        allowed = await client.post("/t/imports", content=b"x" * 3 * LIMIT)
        too_large = await client.post("/t/imports", content=b"x" * 6 * LIMIT)
        tiny = await client.post("/t/tiny", content=b"x" * 11)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b"x" * LIMIT

        streamed = await client.post("/t/imports", content=chunks())
    assert allowed.status_code == 200 and allowed.json() == {"bytes": 3 * LIMIT}
    assert_too_large(too_large, 5 * LIMIT)
    assert_too_large(tiny, 10)
    assert streamed.status_code == 200 and streamed.json() == {"bytes": 4 * LIMIT}


def test_the_default_body_limit_is_one_mebibyte() -> None:
    assert BaseServiceSettings().max_request_body_bytes == MIB


def test_driver_timeouts_go_into_the_database_url_unless_it_sets_them() -> None:
    settings = BaseServiceSettings(
        mongo_url="mongodb://db:27017/?replicaSet=rs0", db_timeout_ms=3000
    )
    assert settings.mongo_url == (
        "mongodb://db:27017/?replicaSet=rs0&timeoutMS=3000&serverSelectionTimeoutMS=5000"
        "&connectTimeoutMS=5000&socketTimeoutMS=20000"
    )
    operator = BaseServiceSettings(mongo_url="mongodb://db:27017/app?TimeoutMS=100")
    assert "TimeoutMS=100" in operator.mongo_url and "timeoutMS=" not in operator.mongo_url
    assert with_url_options("mongodb://db", {"timeoutMS": 1}) == "mongodb://db/?timeoutMS=1"
    assert with_url_options("mongodb://db/?timeoutms=5", {"timeoutMS": 1}) == (
        "mongodb://db/?timeoutms=5"
    )
