"""Back-pressure: questionnaire submits offered at twice the sustainable rate, with admission
control on (the default) and off, in the same run on the same database.

1. Sustainable rate: a closed loop of submits (concurrency 16) against the service.
2. Open loop at `--factor` (2) times that rate for `--seconds`: every submit is sent on time
   whatever the earlier ones do, as clients in the field would.
   - admission on: the admitted submits' p99 (target < 100 ms), the share answered 503
     `service-busy` with `Retry-After`, and the longest time any request waited;
   - admission off: the p99 of all submits (before this change, 100 submits/s on a busy machine
     drove it to 21 s).
Nothing queues without bound: a shed request costs the service one small answer.

The load is sent by `_rawhttp.RawClient` (pre-encoded requests on keep-alive connections, tens
of microseconds of CPU each): an httpx client in this process could not send twice the
service's rate on two shared cores, so the queue was in the client and nothing was shed.
Latencies count from the moment a submit was due, and the rate actually sent is printed.

    .venv/bin/python bench/bench_backpressure.py [--seconds 6] [--factor 2]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import httpx
from _rawhttp import RawClient, open_loop
from _service import cpu_seconds, serve_jwks, start_service, stop_service
from _stack import embedded_stack, latency_summary, percentile, row
from bench_questionnaires import P, answers, prepare
from wijkkracht_common.settings import BaseServiceSettings
from wijkkracht_common.testing.issuer import TestIssuer


def submits(
    raw: RawClient, todo: list[tuple[str, dict[str, str]]], body: dict[str, Any]
) -> list[bytes]:
    """Each response's submit, encoded before the clock starts."""
    return [
        raw.encode("POST", f"{P}/responses/{rid}/submit", {**h, "Idempotency-Key": rid}, body)
        for rid, h in todo
    ]


async def sustainable(raw: RawClient, requests: list[bytes], concurrency: int) -> float:
    """Closed loop: `concurrency` submits at a time, as fast as the service answers (a shed
    submit is sent again)."""
    queue = list(reversed(requests))

    async def worker() -> None:
        while queue:
            request = queue.pop()
            answer = await raw.send(request)
            if answer.status == 503:
                queue.append(request)
            elif answer.status != 200:
                raise RuntimeError(f"submit failed: {answer.status} {answer.body[:200]!r}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(requests) / (time.perf_counter() - start)


SUBMIT_ROUTE = '/responses/{response_id}/submit"'


async def server_side(client: httpx.AsyncClient) -> tuple[dict[float, float], float]:
    """The service's own view from /metrics: cumulative counts of the submit route's
    latency histogram per bucket bound (200 answers only) and the requests it shed. Time a
    request spent before the service read it (the machine, the client) is not in it."""
    text = (await client.get("/metrics")).text
    buckets: dict[float, float] = {}
    shed = 0.0
    for line in text.splitlines():
        if line.startswith("wk_http_request_duration_seconds_bucket") and SUBMIT_ROUTE in line:
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if bound == "+Inf" else float(bound)] = float(
                line.rsplit(" ", 1)[1]
            )
        elif line.startswith("wk_http_shed_total{"):
            shed = float(line.rsplit(" ", 1)[1])
    return buckets, shed


def histogram_p99(before: dict[float, float], after: dict[float, float]) -> str:
    """The bucket bound under which 99 % of the phase's requests finished."""
    counts = {bound: after[bound] - before.get(bound, 0.0) for bound in sorted(after)}
    total = counts.get(float("inf"), 0.0)
    if not total:
        return "no requests"
    for bound, count in counts.items():
        if count >= 0.99 * total:
            return f"<= {bound * 1000:.0f} ms" if bound != float("inf") else "> 5 s"
    return "> 5 s"


async def phase(
    label: str,
    stack: Any,
    issuer: TestIssuer,
    jwks_url: str,
    limit: str,
    rate: float | None,
    seconds: float,
    factor: float,
) -> float:
    """Start a service with WK_MAX_CONCURRENT_REQUESTS=`limit`; measure the sustainable rate
    when `rate` is None, then offer `factor` times it. Returns the sustainable rate."""
    process, base = await start_service(
        stack,
        "questionnaires.main:create_app",
        issuer.issuer,
        jwks_url,
        env={"WK_MAX_CONCURRENT_REQUESTS": limit},
        log_path="/tmp/bench_bp_service.log",
    )
    tenant = f"bp-{uuid.uuid4().hex[:6]}"
    headers = [
        issuer.headers(sub=f"p{i}", tenant=tenant, orgs={"wijkteam": ["resident"]}, lifetime=3600)
        for i in range(50)
    ]
    body = {"answers": answers()}
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    raw = RawClient(base)
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
            if rate is None:
                todo = await prepare(client, headers, 2050, concurrency=4)
                await sustainable(raw, submits(raw, todo[:50], body), 8)  # warm-up
                service_cpu, client_cpu = cpu_seconds(process.pid), time.process_time()
                rate = await sustainable(raw, submits(raw, todo[50:], body), 16)
                service_cpu = (cpu_seconds(process.pid)) - service_cpu
                client_cpu = time.process_time() - client_cpu
                row("sustainable submits/s (closed loop, 16)", f"{rate:.0f}/s")
                row(
                    "  CPU per submit: the service / this load client",
                    f"{service_cpu / 2000 * 1000:.2f} / {client_cpu / 2000 * 1000:.2f} ms",
                )
            offered_rate = rate * factor
            n = int(offered_rate * seconds)
            requests = submits(raw, await prepare(client, headers, n, concurrency=4), body)
            before, shed_before = await server_side(client)
            cpu_before = cpu_seconds(process.pid)
            seen = await open_loop(raw, requests, offered_rate)
            admitted, shed, failed, sent = seen.ok, seen.shed, seen.failed, seen.sent_per_second
            cpu_spent = (cpu_seconds(process.pid)) - cpu_before
            after, shed_after = await server_side(client)
            row(
                f"{label}: offered {offered_rate:.0f}/s for {seconds:.0f} s",
                f"sent at {sent:.0f}/s; admitted {len(admitted)}, shed {len(shed)} "
                f"({100 * len(shed) / max(1, n):.0f} %), failed {failed}",
            )
            if admitted:
                row(f"{label}: admitted, seen by the client", latency_summary(admitted))
                row(
                    f"{label}: admitted, inside the service",
                    f"p99 {histogram_p99(before, after)}; shed {shed_after - shed_before:.0f}",
                    "p99 < 100 ms",
                )
            if shed:
                row(f"{label}: shed answered in", f"p99 {percentile(shed, 99) * 1000:.1f} ms")
            row(
                f"{label}: the service's CPU in this phase",
                f"{cpu_spent:.2f} s = {cpu_spent / seconds:.0%} of a core; "
                f"{cpu_spent / max(1, len(admitted)) * 1000:.2f} ms per admitted submit",
            )
    finally:
        await raw.aclose()
        stop_service(process)
    return rate


async def run(seconds: float, factor: float, limit: int) -> None:
    issuer = TestIssuer("http://identity.bench/identity/v1")
    server, jwks_url = serve_jwks(issuer)
    try:
        with embedded_stack() as stack:
            rate = await phase(
                f"admission on ({limit})",
                stack,
                issuer,
                jwks_url,
                str(limit),
                None,
                seconds,
                factor,
            )
            await phase("admission off", stack, issuer, jwks_url, "0", rate, seconds, factor)
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--factor", type=float, default=2.0)
    parser.add_argument(
        "--limit",
        type=int,
        default=BaseServiceSettings.model_fields["max_concurrent_requests"].default,
        help="WK_MAX_CONCURRENT_REQUESTS of the admission-on phase (default: the services')",
    )
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.factor, args.limit))


if __name__ == "__main__":
    main()
