"""Questionnaires: submit (auth + validate + score + store + outbox) p50/p99 at a fixed
100 req/s, sustained submits/s (closed loop), spider-web SVG render time; compared with the
raw database limits measured in the same run, before and after the service ran (insert_one and
the minimal transaction a submit needs), because the machine is shared.
Targets: p99 < 50 ms, ≥ 300 submits/s, SVG < 5 ms.

The service runs as a real uvicorn process (`--factory questionnaires.main:create_app`) on
the embedded NATS + database; tokens are signed by a TestIssuer whose JWKS this script serves.

    .venv/bin/python bench/bench_questionnaires.py [--rate 100] [--seconds 8] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import nats
from _stack import Stack, embedded_stack, latency_summary, percentile, row
from motor.motor_asyncio import AsyncIOMotorClient
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.domain.response import Response
from questionnaires.presentation.spider_chart import axes_for, render_spider_chart, series_for
from wijkkracht_common.embedded import free_port
from wijkkracht_common.testing.issuer import TestIssuer

P = "/questionnaires/v1"
INSTRUMENT = "health-short"


def serve_jwks(issuer: TestIssuer) -> tuple[ThreadingHTTPServer, str]:
    body = json.dumps(issuer.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


def answers() -> dict[str, Any]:
    definition = shipped_instrument(INSTRUMENT)
    return {i.link_id: {"value": 6} for i in definition.items()}


async def start_service(stack: Stack, issuer: TestIssuer, jwks_url: str,
                        log_path: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "WK_NATS_URL": stack.nats_url, "WK_MONGO_URL": stack.mongo_url,
           "WK_ISSUER": issuer.issuer, "WK_JWKS_URL": jwks_url, "WK_ENV": "test",
           "WK_LOG_LEVEL": "WARNING", "WK_LOG_JSON": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "questionnaires.main:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
         # Idle keep-alive connections of the pool (between phases, or at 100 req/s) must not
         # be closed by the server while the client reuses them (httpx.ReadError race).
         "--timeout-keep-alive", "120"],
        env=env, stdout=subprocess.DEVNULL,
        stderr=open(log_path, "ab") if log_path else subprocess.DEVNULL)  # noqa: SIM115
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return process, base
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("service did not become ready")


async def prepare(client: httpx.AsyncClient, headers: list[dict[str, str]], n: int,
                  concurrency: int = 16) -> list[tuple[str, dict[str, str]]]:
    """`n` started responses (not measured)."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> tuple[str, dict[str, str]]:
        h = headers[i % len(headers)]
        async with sem:
            r = await client.post(f"{P}/responses", json={"instrument_id": INSTRUMENT},
                                  headers=h)
            r.raise_for_status()
            return r.json()["id"], h

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def submit(client: httpx.AsyncClient, rid: str, h: dict[str, str], body: dict[str, Any]
                 ) -> float:
    start = time.perf_counter()
    r = await client.post(f"{P}/responses/{rid}/submit", json=body,
                          headers={**h, "Idempotency-Key": rid})
    elapsed = time.perf_counter() - start
    if r.status_code != 200:
        raise RuntimeError(f"submit failed: {r.status_code} {r.text[:200]}")
    return elapsed


async def fixed_rate(client: httpx.AsyncClient, todo: list[tuple[str, dict[str, str]]],
                     rate: float, body: dict[str, Any]) -> list[float]:
    """Open loop: one submit every 1/rate s, whatever the previous ones do."""
    tasks = []
    start = time.perf_counter()
    for i, (rid, h) in enumerate(todo):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(submit(client, rid, h, body)))
    return list(await asyncio.gather(*tasks))


async def closed_loop(client: httpx.AsyncClient, todo: list[tuple[str, dict[str, str]]],
                      concurrency: int, body: dict[str, Any]) -> tuple[int, float, list[float]]:
    queue = list(reversed(todo))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            rid, h = queue.pop()
            latencies.append(await submit(client, rid, h, body))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), time.perf_counter() - start, latencies


async def raw_db(stack: Stack, n: int = 1500) -> dict[str, float]:
    """The database's own limits: insert_one sequential / concurrent, and the smallest
    transaction a submit needs (update + outbox insert), serialised per database like
    `Storage` does on nx-27017."""
    client: AsyncIOMotorClient = AsyncIOMotorClient(stack.mongo_url)  # type: ignore[type-arg]
    db = client[f"wk_raw_{uuid.uuid4().hex[:6]}"]
    out: dict[str, float] = {}
    start = time.perf_counter()
    for i in range(n):
        await db.one.insert_one({"_id": f"d{i}", "n": i, "body": "x" * 1500})
    out["insert_one_seq"] = n / (time.perf_counter() - start)
    start = time.perf_counter()
    await asyncio.gather(*(db.conc.insert_one({"_id": f"d{i}", "body": "x" * 1500})
                           for i in range(n)))
    out["insert_one_conc"] = n / (time.perf_counter() - start)
    m = n // 3
    start = time.perf_counter()
    for i in range(m):
        async with await client.start_session() as session:
            async def work(s: Any, i: int = i) -> None:
                await db.one.update_one({"_id": f"d{i}"}, {"$set": {"body": "y" * 1500}},
                                        session=s)
                await db.outbox.insert_one({"_id": f"e{i}", "payload": "z" * 800}, session=s)
            await session.with_transaction(work)
    out["txn_seq"] = m / (time.perf_counter() - start)
    await client.drop_database(db.name)
    client.close()
    return out


def svg_render_times(runs: int = 500) -> list[float]:
    definition = shipped_instrument("health-full")
    from datetime import UTC, datetime

    from questionnaires.domain.answers import ItemAnswer

    now = datetime.now(UTC)
    response = Response.start(response_id="r1", definition=definition, subject_id="p",
                              language="nl", now=now)
    response = response.save_answers(
        definition, {i.link_id: ItemAnswer(value=7) for i in definition.items()}, now)
    result = response.submit(definition, now).result
    assert result is not None
    axes = axes_for(result, "nl")
    series = [series_for(result, "1 maart"), series_for(result, "1 juni")]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render_spider_chart(axes, series, title="Hoe gaat het met u?", language="nl")
        times.append(time.perf_counter() - start)
    return times


async def stream_count(stack: Stack, tenant: str) -> int:
    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("QUESTIONNAIRES",
                                    subjects_filter=f"wk.{tenant}.questionnaires.>")
        subjects = info.state.subjects or {}
        return int(subjects.get(f"wk.{tenant}.questionnaires.response_submitted.v1", 0))
    finally:
        await nc.drain()


def _raw_rows(label: str, raw: dict[str, float]) -> None:
    row(f"raw ({label}): insert_one sequential (1.5 kB doc)", f"{raw['insert_one_seq']:,.0f} /s")
    row(f"raw ({label}): insert_one concurrent", f"{raw['insert_one_conc']:,.0f} /s")
    row(f"raw ({label}): 2-op transaction, sequential", f"{raw['txn_seq']:,.0f} /s",
        "update + outbox insert + commit")


async def run(rate: float, seconds: float, concurrency: int, users: int,
              service_log: str | None) -> None:
    svg = svg_render_times()
    issuer = TestIssuer("http://identity.bench/identity/v1")
    jwks_server, jwks_url = serve_jwks(issuer)
    with embedded_stack() as stack:
        raw_before = await raw_db(stack)
        process, base = await start_service(stack, issuer, jwks_url, service_log)
        tenant = f"bench-{uuid.uuid4().hex[:6]}"
        headers = [issuer.headers(sub=f"person-{i}", tenant=tenant,
                                  orgs={"wijkteam": ["resident"]}, lifetime=3600)
                   for i in range(users)]
        body = {"answers": answers()}
        try:
            limits = httpx.Limits(max_connections=concurrency * 2,
                                  max_keepalive_connections=concurrency * 2)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                n_fixed = int(rate * seconds)
                todo = await prepare(client, headers, n_fixed + 2000)
                warm, todo = todo[:50], todo[50:]
                await closed_loop(client, warm, 8, body)
                fixed = await fixed_rate(client, todo[:n_fixed], rate, body)
                rest = todo[n_fixed:]
                done, elapsed, loop_lat = await closed_loop(client, rest, concurrency, body)
            await asyncio.sleep(2.0)  # let the relay publish the last events
            in_stream = await stream_count(stack, tenant)
        finally:
            process.terminate()
            process.wait(timeout=15)
            jwks_server.shutdown()
        raw_after = await raw_db(stack)  # the load of other processes changes during a run

    submitted = 50 + len(fixed) + done
    sustained = done / elapsed
    txn = [raw_before["txn_seq"], raw_after["txn_seq"]]
    print("Questionnaires: submit = token check + validate + score + store + outbox "
          "(transaction shared by concurrent submits)")
    _raw_rows("before", raw_before)
    _raw_rows("after", raw_after)
    row(f"submit at fixed {rate:.0f} req/s ({len(fixed)} requests)",
        f"p99 {percentile([s * 1000 for s in fixed], 99):.1f} ms", "target p99 < 50 ms")
    print(f"    {latency_summary(fixed)}")
    row(f"submit sustained, closed loop, {concurrency} in flight ({done} requests)",
        f"{sustained:,.0f} submits/s", "target ≥ 300/s")
    print(f"    {latency_summary(loop_lat)}")
    print(f"    = {sustained / max(txn):.2f}-{sustained / min(txn):.2f} x the raw 2-op "
          f"transaction rate of this run ({min(txn):,.0f}-{max(txn):,.0f} /s), "
          f"{sustained / raw_before['insert_one_seq']:.2f} x raw sequential insert_one")
    row("response_submitted in QUESTIONNAIRES stream", f"{in_stream} of {submitted}")
    row("spider-web SVG render (health-full, 2 series)",
        f"p50 {percentile([s * 1000 for s in svg], 50):.3f} ms, "
        f"p99 {percentile([s * 1000 for s in svg], 99):.3f} ms", "target < 5 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--service-log", default=None,
                        help="append the service's stderr to this file (default: discarded)")
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.seconds, args.concurrency, args.users, args.service_log))


if __name__ == "__main__":
    main()
