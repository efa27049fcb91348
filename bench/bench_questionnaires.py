"""Questionnaires: submit (auth + validate + score + store + outbox) p50/p99 at a fixed
100 req/s, sustained submits/s (closed loop), spider-web SVG render time; compared with the
raw database limits measured in the same run, before and after the service ran (insert_one and
the minimal transaction a submit needs), because the machine is shared.
Targets: p99 < 50 ms, ≥ 300 submits/s, SVG < 5 ms.

The service runs as a real uvicorn process (`--factory questionnaires.main:create_app`) on
the embedded NATS + database; tokens are signed by a TestIssuer whose JWKS this script serves.

Sustained submits/s is measured twice:
- httpx, closed loop, in this Python process: on a 2-core machine the client itself takes a
  large share of the CPU, so this figure understates the service;
- wrk (C, if installed): a Lua script (`WRK_SCRIPT`) walks through responses started
  beforehand, each submitted exactly once (every wrk thread takes its own slice; its
  connections take the next unsent response of it), and the thread stops when all of its
  slice was answered. A run with any non-2xx answer or socket error is not a valid figure.
For both, the service's stored submitted responses and the `response_submitted` events in
the stream are counted (exactly one event per stored submit).

    .venv/bin/python bench/bench_questionnaires.py [--rate 100] [--seconds 8] [--concurrency 16]
        [--wrk-requests 4000] [--wrk-threads 1] [--profile out.svg]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
from _service import cpu_seconds, database_pid, serve_jwks, start_service, stop_service
from _stack import Stack, embedded_stack, latency_summary, percentile, row
from motor.motor_asyncio import AsyncIOMotorClient
from questionnaires.domain.catalog import shipped_instrument
from questionnaires.domain.response import Response
from questionnaires.presentation.spider_chart import axes_for, render_spider_chart, series_for
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.testing.issuer import TestIssuer

P = "/questionnaires/v1"
INSTRUMENT = "health-short"


def answers() -> dict[str, Any]:
    definition = shipped_instrument(INSTRUMENT)
    return {i.link_id: {"value": 6} for i in definition.items()}


async def prepare(
    client: httpx.AsyncClient, headers: list[dict[str, str]], n: int, concurrency: int = 16
) -> list[tuple[str, dict[str, str]]]:
    """`n` started responses (not measured)."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> tuple[str, dict[str, str]]:
        h = headers[i % len(headers)]
        async with sem:
            r = await client.post(f"{P}/responses", json={"instrument_id": INSTRUMENT}, headers=h)
            r.raise_for_status()
            return r.json()["id"], h

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def submit(
    client: httpx.AsyncClient, rid: str, h: dict[str, str], body: dict[str, Any]
) -> float:
    start = time.perf_counter()
    r = await client.post(
        f"{P}/responses/{rid}/submit", json=body, headers={**h, "Idempotency-Key": rid}
    )
    elapsed = time.perf_counter() - start
    if r.status_code != 200:
        raise RuntimeError(f"submit failed: {r.status_code} {r.text[:200]}")
    return elapsed


async def fixed_rate(
    client: httpx.AsyncClient,
    todo: list[tuple[str, dict[str, str]]],
    rate: float,
    body: dict[str, Any],
) -> list[float]:
    """Open loop: one submit every 1/rate s, whatever the previous ones do."""
    tasks = []
    start = time.perf_counter()
    for i, (rid, h) in enumerate(todo):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(submit(client, rid, h, body)))
    return list(await asyncio.gather(*tasks))


async def closed_loop(
    client: httpx.AsyncClient,
    todo: list[tuple[str, dict[str, str]]],
    concurrency: int,
    body: dict[str, Any],
) -> tuple[int, float, list[float]]:
    queue = list(reversed(todo))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            rid, h = queue.pop()
            latencies.append(await submit(client, rid, h, body))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), time.perf_counter() - start, latencies


WRK_SCRIPT = r"""
-- Submits pre-started responses, each exactly once. Lines of WK_WRK_ITEMS: "<id> <token>";
-- thread k of n takes lines k, k+n, k+2n, ...; its connections take the next unsent one. When
-- the slice is used up, idle connections ask GET /healthz every 10 ms (a cheap filler, not
-- counted as a submit) until the slice's last submit was answered; then the thread writes a
-- marker file (WK_WRK_DONE.<thread>) and stops.
-- The first request() of a thread is a filler too: wrk calls request() once to check the
-- script (thread 1) and never sends that request.
local threads, created = {}, 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(args[1])
  local body_file = assert(io.open(os.getenv("WK_WRK_BODY"), "r"))
  body = body_file:read("*a")
  body_file:close()
  ids, tokens = {}, {}
  local i = 0
  for line in io.lines(os.getenv("WK_WRK_ITEMS")) do
    if i % n == tid then
      local id, token = line:match("^(%S+) (%S+)$")
      table.insert(ids, id)
      table.insert(tokens, token)
    end
    i = i + 1
  end
  planned = #ids
  sent, answered, ok, failed, fillers, first_failure = 0, 0, 0, 0, 0, ""
  prefix = args[2]
  primed, finished = false, false
end

function request()
  if primed and sent < #ids then
    sent = sent + 1
    return wrk.format("POST", prefix .. "/responses/" .. ids[sent] .. "/submit", {
      ["Authorization"] = "Bearer " .. tokens[sent],
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = ids[sent],
    }, body)
  end
  primed = true
  return wrk.format("GET", "/healthz")
end

function delay()
  -- Fillers at a gentle pace (ms before the next request), so the tail does not load the
  -- service with health checks while the last submits finish.
  if primed and sent >= #ids then
    return 10
  end
  return 0
end

function response(status, headers, resp_body)
  if resp_body == '{"status":"ok"}' then
    fillers = fillers + 1
    return
  end
  answered = answered + 1
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    failed = failed + 1
    if first_failure == "" then
      local text = string.gsub(string.sub(resp_body or "", 1, 160), '[%c"\\]', " ")
      first_failure = status .. " " .. text
    end
  end
  if answered >= #ids and not finished then
    -- wrk itself runs until -d or SIGINT: the bench sends SIGINT once every thread wrote its
    -- marker file.
    finished = true
    local marker = assert(io.open(os.getenv("WK_WRK_DONE") .. "." .. tid, "w"))
    marker:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local ok_total, failed_total, fillers_total, planned, failure = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
    failed_total = failed_total + t:get("failed")
    fillers_total = fillers_total + t:get("fillers")
    planned = planned + t:get("planned")
    if failure == "" then failure = t:get("first_failure") end
  end
  local e = summary.errors
  io.write(string.format(
    'WKRESULT {"duration_us": %d, "requests": %d, "ok": %d, "failed": %d, "fillers": %d, ' ..
    '"planned": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "failure": "%s"}\n',
    summary.duration, summary.requests, ok_total, failed_total, fillers_total, planned,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, failure))
end
"""


@dataclass
class WrkResult:
    seconds: float
    ok: int
    failed: int
    fillers: int
    planned: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    failure: str

    @property
    def valid(self) -> bool:
        return self.failed == 0 and self.socket_errors == 0 and self.ok == self.planned


async def wrk_phase(
    base: str,
    todo: list[tuple[str, dict[str, str]]],
    body: dict[str, Any],
    connections: int,
    threads: int,
) -> WrkResult:
    """Submit every response of `todo` once with wrk (see WRK_SCRIPT)."""
    with tempfile.TemporaryDirectory(prefix="wk-wrk-") as tmp:
        items, body_file, script = Path(tmp, "items"), Path(tmp, "body.json"), Path(tmp, "s.lua")
        items.write_text(
            "".join(f"{rid} {h['Authorization'].split(' ', 1)[1]}\n" for rid, h in todo)
        )
        body_file.write_text(json.dumps(body))
        script.write_text(WRK_SCRIPT)
        done = Path(tmp, "done")
        env = {
            **os.environ,
            "WK_WRK_ITEMS": str(items),
            "WK_WRK_BODY": str(body_file),
            "WK_WRK_DONE": str(done),
        }
        # The duration is only a safety cap: wrk runs until -d or SIGINT, which is sent once
        # every thread answered its slice (its marker file exists).
        cap = max(60, len(todo) // 20)
        process = await asyncio.create_subprocess_exec(
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(max(connections, threads)),
            "-d",
            f"{cap}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base,
            "--",
            str(threads),
            P,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        communicate = asyncio.create_task(process.communicate())
        while not communicate.done():
            if all(Path(f"{done}.{t}").exists() for t in range(threads)):
                process.send_signal(signal.SIGINT)
                break
            await asyncio.sleep(0.005)
        out, err = await communicate
    text = out.decode()
    line = next((ln for ln in text.splitlines() if ln.startswith("WKRESULT ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {text[-500:]} {err.decode()}")
    r = json.loads(line.removeprefix("WKRESULT "))
    return WrkResult(
        seconds=r["duration_us"] / 1e6,
        ok=r["ok"],
        failed=r["failed"],
        fillers=r["fillers"],
        planned=r["planned"],
        socket_errors=r["connect"] + r["read"] + r["write"] + r["timeout"],
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        failure=r["failure"],
    )


def start_profiler(pid: int, out: str, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy on the service process (next to this interpreter), if available; only the
    thread holding the GIL is sampled, so the profile shows where the interpreter's time goes."""
    py_spy = Path(sys.executable).with_name("py-spy")
    exe = str(py_spy) if py_spy.exists() else shutil.which("py-spy")
    if exe is None:
        print("    (py-spy not found: no profile)")
        return None
    fmt = (
        "speedscope" if out.endswith(".json") else ("raw" if out.endswith(".txt") else "flamegraph")
    )
    return subprocess.Popen(
        [
            exe,
            "record",
            "-p",
            str(pid),
            "-o",
            out,
            "-f",
            fmt,
            "-r",
            "250",
            "-d",
            str(int(seconds)),
            "--nonblocking",
            "--gil",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cpu_per(service: list[float | None], database: list[float | None], n: int) -> str:
    def per(c: list[float | None]) -> str:
        if n == 0 or len(c) != 2 or c[0] is None or c[1] is None:
            return "?"
        return f"{(c[1] - c[0]) / n * 1000:.2f}"

    return f", CPU per submit: service {per(service)} ms, database {per(database)} ms"


async def submitted_count(stack: Stack, tenant: str) -> int:
    """Submitted responses the service stored for `tenant`."""
    client: AsyncIOMotorClient = AsyncIOMotorClient(stack.mongo_url)  # type: ignore[type-arg]
    try:
        db = client[f"wk_questionnaires_{tenant}"]
        return int(await db.responses.count_documents({"status": "submitted"}))
    finally:
        client.close()


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
    await asyncio.gather(
        *(db.conc.insert_one({"_id": f"d{i}", "body": "x" * 1500}) for i in range(n))
    )
    out["insert_one_conc"] = n / (time.perf_counter() - start)
    m = n // 3
    start = time.perf_counter()
    for i in range(m):
        async with await client.start_session() as session:

            async def work(s: Any, i: int = i) -> None:
                await db.one.update_one({"_id": f"d{i}"}, {"$set": {"body": "y" * 1500}}, session=s)
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
    response = Response.start(
        response_id="r1", definition=definition, subject_id="p", language="nl", now=now
    )
    response = response.save_answers(
        definition, {i.link_id: ItemAnswer(value=7) for i in definition.items()}, now
    )
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
        info = await js.stream_info(
            "QUESTIONNAIRES", subjects_filter=f"wk.{tenant}.questionnaires.>"
        )
        subjects = info.state.subjects or {}
        # Partitioned by person: one subject per slot (`...response_submitted.v1.<slot>`).
        prefix = f"wk.{tenant}.questionnaires.response_submitted.v1."
        return sum(int(n) for subject, n in subjects.items() if subject.startswith(prefix))
    finally:
        await nc.drain()


def _raw_rows(label: str, raw: dict[str, float]) -> None:
    row(f"raw ({label}): insert_one sequential (1.5 kB doc)", f"{raw['insert_one_seq']:,.0f} /s")
    row(f"raw ({label}): insert_one concurrent", f"{raw['insert_one_conc']:,.0f} /s")
    row(
        f"raw ({label}): 2-op transaction, sequential",
        f"{raw['txn_seq']:,.0f} /s",
        "update + outbox insert + commit",
    )


async def run(
    rate: float,
    seconds: float,
    concurrency: int,
    users: int,
    service_log: str | None,
    wrk_requests: int,
    wrk_threads: int,
    profile: str | None,
) -> None:
    wrk = shutil.which("wrk") if wrk_requests > 0 else None
    svg = svg_render_times()
    issuer = TestIssuer("http://identity.bench/identity/v1")
    jwks_server, jwks_url = serve_jwks(issuer)
    with embedded_stack() as stack:
        raw_before = await raw_db(stack)
        process, base = await start_service(
            stack, "questionnaires.main:create_app", issuer.issuer, jwks_url, log_path=service_log
        )
        tenant = f"bench-{uuid.uuid4().hex[:6]}"
        wrk_tenant = f"benchwrk-{uuid.uuid4().hex[:6]}"
        headers = [
            issuer.headers(
                sub=f"person-{i}", tenant=tenant, orgs={"wijkteam": ["resident"]}, lifetime=3600
            )
            for i in range(users)
        ]
        wrk_headers = [
            issuer.headers(
                sub=f"person-{i}", tenant=wrk_tenant, orgs={"wijkteam": ["resident"]}, lifetime=3600
            )
            for i in range(users)
        ]
        body = {"answers": answers()}
        wrk_result: WrkResult | None = None
        cpu_wrk: list[float | None] = [None, None]
        db_wrk: list[float | None] = [None, None]
        db_pid = database_pid(stack.mongo_url)
        wrk_stored = wrk_in_stream = 0
        try:
            limits = httpx.Limits(
                max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2
            )
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                n_fixed = int(rate * seconds)
                todo = await prepare(client, headers, n_fixed + 2000)
                warm, todo = todo[:50], todo[50:]
                await closed_loop(client, warm, 8, body)
                fixed = await fixed_rate(client, todo[:n_fixed], rate, body)
                rest = todo[n_fixed:]
                cpu_loop = [cpu_seconds(process.pid)]
                db_loop = [cpu_seconds(db_pid) if db_pid else None]
                done, elapsed, loop_lat = await closed_loop(client, rest, concurrency, body)
                cpu_loop.append(cpu_seconds(process.pid))
                db_loop.append(cpu_seconds(db_pid) if db_pid else None)
                if wrk:
                    wrk_todo = await prepare(client, wrk_headers, wrk_requests)
                    await closed_loop(client, wrk_todo[:50], 8, body)  # warm the tenant
                    wrk_todo = wrk_todo[50:]
            if wrk:
                profiler = (
                    start_profiler(process.pid, profile, len(wrk_todo) / 150) if profile else None
                )
                cpu_wrk = [cpu_seconds(process.pid)]
                db_wrk = [cpu_seconds(db_pid) if db_pid else None]
                wrk_result = await wrk_phase(base, wrk_todo, body, concurrency, wrk_threads)
                cpu_wrk.append(cpu_seconds(process.pid))
                db_wrk.append(cpu_seconds(db_pid) if db_pid else None)
                if profiler is not None:
                    profiler.send_signal(signal.SIGINT)  # py-spy writes its output then
                    profiler.wait(timeout=60)
            await asyncio.sleep(2.0)  # let the relay publish the last events
            in_stream = await stream_count(stack, tenant)
            stored = await submitted_count(stack, tenant)
            if wrk:
                wrk_in_stream = await stream_count(stack, wrk_tenant)
                wrk_stored = await submitted_count(stack, wrk_tenant)
        finally:
            stop_service(process)
            jwks_server.shutdown()
        raw_after = await raw_db(stack)  # the load of other processes changes during a run

    submitted = 50 + len(fixed) + done
    sustained = done / elapsed
    txn = [raw_before["txn_seq"], raw_after["txn_seq"]]
    print(
        "Questionnaires: submit = token check + validate + score + store + outbox "
        "(transaction shared by concurrent submits)"
    )
    _raw_rows("before", raw_before)
    _raw_rows("after", raw_after)
    row(
        f"submit at fixed {rate:.0f} req/s ({len(fixed)} requests)",
        f"p99 {percentile([s * 1000 for s in fixed], 99):.1f} ms",
        "target p99 < 50 ms",
    )
    print(f"    {latency_summary(fixed)}")
    row(
        f"submit sustained, httpx closed loop, {concurrency} in flight ({done} requests)",
        f"{sustained:,.0f} submits/s",
        "target ≥ 300/s (client in this process)",
    )
    print(f"    {latency_summary(loop_lat)}{_cpu_per(cpu_loop, db_loop, done)}")
    _ratio(sustained, txn, raw_before)
    row(
        "response_submitted in stream / stored (httpx phases)",
        f"{in_stream} / {stored} of {submitted}",
        "ok" if in_stream == stored == submitted else "MISMATCH",
    )
    if wrk_result is not None:
        w = wrk_result
        rate_wrk = w.ok / w.seconds
        label = f"submit sustained, wrk, {max(concurrency, wrk_threads)} connections ({w.ok} req)"
        if w.valid:
            row(label, f"{rate_wrk:,.0f} submits/s", "target ≥ 300/s")
        else:
            row(
                label,
                f"INVALID ({rate_wrk:,.0f}/s)",
                f"{w.failed} non-2xx, {w.socket_errors} socket errors, {w.ok} of "
                f"{w.planned} ok; first: {w.failure}",
            )
        print(
            f"    p50 {w.p50_ms:.2f} ms, p99 {w.p99_ms:.2f} ms, {w.seconds:.1f} s"
            f"{_cpu_per(cpu_wrk, db_wrk, w.ok)} ({w.fillers} filler GET /healthz at the tail, in "
            f"the latencies and CPU too)"
        )
        _ratio(rate_wrk, txn, raw_before)
        wrk_ok = wrk_in_stream == wrk_stored == w.ok + 50
        row(
            "response_submitted in stream / stored (wrk phase)",
            f"{wrk_in_stream} / {wrk_stored} of {w.ok + 50}",
            "ok" if wrk_ok else "MISMATCH",
        )
    elif wrk_requests > 0:
        print(
            "  (wrk not installed: no wrk figure; the httpx figure above understates the "
            "service, its client shares the CPU)"
        )
    row(
        "spider-web SVG render (health-full, 2 series)",
        f"p50 {percentile([s * 1000 for s in svg], 50):.3f} ms, "
        f"p99 {percentile([s * 1000 for s in svg], 99):.3f} ms",
        "target < 5 ms",
    )


def _ratio(rate: float, txn: list[float], raw_before: dict[str, float]) -> None:
    print(
        f"    = {rate / max(txn):.2f}-{rate / min(txn):.2f} x the raw 2-op "
        f"transaction rate of this run ({min(txn):,.0f}-{max(txn):,.0f} /s), "
        f"{rate / raw_before['insert_one_seq']:.2f} x raw sequential insert_one"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=BaseServiceSettings.model_fields["max_concurrent_requests"].default,
        help="requests in flight in the closed loops (default: the service's admission limit; "
        "more would be shed with 503)",
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--service-log",
        default=None,
        help="append the service's stderr to this file (default: discarded)",
    )
    parser.add_argument(
        "--wrk-requests", type=int, default=4000, help="submits in the wrk phase (0: no wrk phase)"
    )
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--profile",
        default=None,
        help="py-spy record the service during the wrk phase into this file "
        "(.svg flamegraph, .json speedscope, .txt collapsed stacks)",
    )
    args = parser.parse_args()
    asyncio.run(
        run(
            args.rate,
            args.seconds,
            args.concurrency,
            args.users,
            args.service_log,
            args.wrk_requests,
            args.wrk_threads,
            args.profile,
        )
    )


if __name__ == "__main__":
    main()
