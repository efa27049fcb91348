"""Identity benchmark (prints figures, asserts nothing).

1. client-credentials token issuance per second through the real HTTP app (in-process,
   ASGI transport, 8 concurrent callers); target >= 300/s.
2. token verification overhead: p50 of a protected endpoint (`/me/token`: verification, no
   database read) minus p50 of an unprotected one (`/healthz`); target < 0.2 ms.
3. `TokenVerifier.verify` alone.
Starts its own embedded NATS + database (like the test plugin). Each figure runs ~3 s.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from identity.main import create_app
from identity.service import clients, directory
from identity.settings import Settings
from wijkkracht_common.auth import CurrentPrincipal
from wijkkracht_common.embedded import free_port, start_mongo, start_nats

SECONDS = 3.0


async def run(nats_url: str, mongo_url: str) -> list[tuple[str, str, str]]:
    settings = Settings(
        service_name=f"bench{uuid.uuid4().hex[:6]}",
        env="test",
        nats_url=nats_url,
        mongo_url=mongo_url,
        issuer="http://identity.bench/identity/v1",
        generate_keys=True,
        login_code_pepper="bench-" + "p" * 40,
        log_level="WARNING",
        log_json=True,
    )
    app = create_app(settings)

    # Twin routes that differ only in the auth dependency: their difference is the cost of
    # token verification on a protected endpoint (same middleware, tracing, serialisation).
    @app.get("/identity/v1/bench/open")
    async def bench_open() -> dict[str, str]:
        return {"sub": "anonymous"}

    @app.get("/identity/v1/bench/protected")
    async def bench_protected(principal: CurrentPrincipal) -> dict[str, str]:
        return {"sub": principal.subject}

    rows: list[tuple[str, str, str]] = []
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://identity.bench"
        ) as http,
    ):
        ctx = app.state.identity
        await directory.register_tenant(ctx, slug="bench", name="Bench", actor="bench")
        await directory.create_organisation(
            ctx,
            "bench",
            slug="org",
            name="Org",
            kind=directory.OrganisationKind.WELFARE,
            actor="bench",
        )
        client, secret = await clients.create_client(
            ctx, "bench", organisation="org", name="Bench", confidential=True, scopes=["x.read"]
        )
        assert secret is not None
        form = {"grant_type": "client_credentials"}
        auth = (client.client_id, secret)

        issued = 0
        deadline = time.perf_counter() + SECONDS

        async def caller() -> None:
            nonlocal issued
            while time.perf_counter() < deadline:
                response = await http.post("/identity/v1/oauth/token", data=form, auth=auth)
                response.raise_for_status()
                issued += 1

        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(8)))
        rate = issued / (time.perf_counter() - start)
        rows.append(("client-credentials tokens (HTTP, 8 callers)", f"{rate:,.0f} /s", ">= 300 /s"))

        token = (await http.post("/identity/v1/oauth/token", data=form, auth=auth)).json()[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}

        async def p50(path: str, hdrs: dict[str, str] | None) -> float:
            samples: list[float] = []
            end = time.perf_counter() + SECONDS / 2
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                response = await http.get(path, headers=hdrs)
                samples.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text
            return statistics.median(samples) * 1000

        await p50("/identity/v1/bench/open", None)  # warm-up
        open_ms = await p50("/identity/v1/bench/open", None)
        protected_ms = await p50("/identity/v1/bench/protected", headers)
        # a real read a machine client may make (`/me/...` is for persons only: 403)
        me_ms = await p50("/identity/v1/organisations/org", headers)
        rows.append(("p50 twin route without auth", f"{open_ms:.3f} ms", ""))
        rows.append(("p50 twin route with bearer auth", f"{protected_ms:.3f} ms", ""))
        rows.append(
            ("verification overhead (difference)", f"{protected_ms - open_ms:.3f} ms", "< 0.2 ms")
        )
        rows.append(("p50 GET /organisations/org (real endpoint)", f"{me_ms:.3f} ms", ""))

        # First use of a token (cache miss): signature + claims, no HTTP.
        fresh = [
            (await http.post("/identity/v1/oauth/token", data=form, auth=auth)).json()[
                "access_token"
            ]
            for _ in range(200)
        ]
        t0 = time.perf_counter()
        for t in fresh:
            await app.state.token_verifier.verify(t)
        uncached = (time.perf_counter() - t0) / len(fresh) * 1000
        rows.append(("TokenVerifier.verify, first use of a token", f"{uncached:.3f} ms", ""))

        verifier = app.state.token_verifier
        count = 0
        end = time.perf_counter() + SECONDS / 2
        t0 = time.perf_counter()
        while time.perf_counter() < end:
            await verifier.verify(token)
            count += 1
        per = (time.perf_counter() - t0) / count * 1000
        rows.append(
            ("TokenVerifier.verify, token seen before", f"{per:.4f} ms", f"{count:,} calls")
        )
    return rows


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
        work = Path(tmp)
        nats = start_nats(free_port(), work / "nats", work / "nats.log")
        mongo = start_mongo(free_port(), work / "db", work / "db.log")
        try:
            rows = asyncio.run(run(nats.url, mongo.url))
        finally:
            mongo.stop()
            nats.stop()
    width = max(len(r[0]) for r in rows)
    print(f"\nidentity benchmark ({SECONDS:.0f} s per figure)")
    print(f"{'figure':<{width}}  {'result':>14}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>14}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
