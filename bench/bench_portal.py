"""Portal: HTML pages' time to first byte with 20 concurrent signed-in users (p50/p95), the
part spent waiting for the services' APIs reported separately (the portal's Server-Timing
`api` figure), and the gzipped JavaScript each page loads (budget 50 KB).

Starts the platform and the portal like the browser tests (tests/browser/conftest.py).
Prints figures; asserts nothing."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _stack import cpu_rows, percentile, row, tree_cpu_seconds  # noqa: E402

from tests.browser.conftest import E2E, PASSWORD, running_portal  # noqa: E402
from tests.browser.scenario import resident_with_results  # noqa: E402

USERS, ROUNDS = 20, 10
COOKIE = "__Host-wk-portal"


def sign_in(portal_url: str, email: str) -> str:
    """The portal's session cookie after the login form, filled in like the e2e tests do."""
    with httpx.Client(timeout=30) as client:
        start = client.get(f"{portal_url}/login")
        session = start.cookies.get(COOKIE) or ""
        page = client.get(start.headers["location"])
        form = E2E._LoginForm()
        form.feed(page.text)
        data = {f["name"]: f.get("value", "") for f in form.inputs if f.get("type") == "hidden"}
        data.update({"email": email, "password": PASSWORD})
        posted = client.post(urljoin(str(page.url), form.action or ""), data=data)
        done = client.get(posted.headers["location"], headers={"cookie": f"{COOKIE}={session}"})
        cookie = done.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        return cookie


async def user(
    portal_url: str,
    cookie: str,
    paths: list[str],
    out: list[tuple[str, float, float]],
    statuses: dict[int, int] | None = None,
    barrier: asyncio.Barrier | None = None,
) -> None:
    """ROUNDS walks over `paths`. With a barrier, every user first makes its client and
    connection (making a client is blocking work: measured inside the loop, it would count
    in the others' first pages), then all start at once."""
    async with httpx.AsyncClient(timeout=30, headers={"cookie": f"{COOKIE}={cookie}"}) as client:
        if barrier is not None:
            await client.get(portal_url + "/healthz")
            await barrier.wait()
        for _ in range(ROUNDS):
            for path in paths:
                started = time.perf_counter()
                async with client.stream("GET", portal_url + path) as answer:
                    first_byte = time.perf_counter() - started
                    await answer.aread()
                if statuses is not None:
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                timing = re.search(r"api;dur=([\d.]+)", answer.headers.get("server-timing", ""))
                api = float(timing.group(1)) / 1000 if timing else 0.0
                out.append((re.sub(r"/[0-9a-f-]{20,}", "/{id}", path), first_byte, api))


def server_times(portal_url: str) -> dict[str, dict[str, float]]:
    """The portal's own histogram of time to the answer's start, per route: sums, counts
    and cumulative buckets (seen from inside the process, so without the load generator's
    own waiting)."""
    text = httpx.get(f"{portal_url}/metrics", timeout=30).text
    found: dict[str, dict[str, float]] = {}
    pattern = (
        r"portal_page_seconds_(sum|count|bucket)"
        r'\{(?:le="([^"]+)",)?route="([^"]+)"(?:,le="([^"]+)")?\} (\S+)'
    )
    for kind, le_first, route, le_last, value in re.findall(pattern, text):
        le = le_first or le_last
        found.setdefault(route, {})[f"le={le}" if kind == "bucket" else kind] = float(value)
    return found


def server_rows(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> None:
    for route, now in sorted(after.items()):
        was = before.get(route, {})
        count = now.get("count", 0) - was.get("count", 0)
        if count < 10 or route in ("/metrics", "/healthz"):
            continue
        mean = (now.get("sum", 0) - was.get("sum", 0)) / count
        bounds = sorted((float(k[3:]), now[k] - was.get(k, 0)) for k in now if k.startswith("le="))
        p95 = next((le for le, n in bounds if n >= 0.95 * count), float("inf"))
        row(f"  server side {route[:34]}", f"mean {mean * 1000:.0f} ms, p95 ≤ {p95 * 1000:.0f} ms")


def javascript_per_page(portal_url: str, cookie: str, paths: list[str]) -> None:
    with httpx.Client(timeout=30, headers={"cookie": f"{COOKIE}={cookie}"}) as client:
        for path in paths[:3]:
            html = client.get(portal_url + path).text
            scripts = re.findall(r'<script src="([^"]+)"', html)
            total = sum(len(gzip.compress(client.get(portal_url + s).content)) for s in scripts)
            row(f"gzipped JavaScript on {path[:30]}", f"{total / 1024:.1f} KB", "≤ 50 KB")


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="wk-bench-portal-") as tmp,
        running_portal(Path(tmp)) as portal,
    ):
        residents = [resident_with_results(portal, f"Bench {i}") for i in range(USERS)]
        cookies = [sign_in(portal.url, r.email) for r in residents]
        samples: list[tuple[str, float, float]] = []
        statuses: dict[int, int] = {}

        begun: list[float] = []

        async def everyone() -> None:
            barrier = asyncio.Barrier(USERS + 1)

            async def go() -> None:
                await barrier.wait()
                begun.append(time.perf_counter())

            await asyncio.gather(
                go(),
                *(
                    user(
                        portal.url,
                        cookie,
                        [
                            "/",
                            "/self-assessment",
                            f"/self-assessment/{r.in_progress}/q/0",
                            "/results",
                            f"/results/{r.submitted[-1]}",
                            "/my-data",
                        ],
                        samples,
                        statuses,
                        barrier,
                    )
                    for r, cookie in zip(residents, cookies, strict=True)
                ),
            )

        load_before = os.getloadavg()[0]
        inside_before = server_times(portal.url)
        cpu_before, client_before = tree_cpu_seconds(portal.process.pid), time.process_time()
        asyncio.run(everyone())
        elapsed = time.perf_counter() - begun[0]
        cpu_after, client_after = tree_cpu_seconds(portal.process.pid), time.process_time()
        ttfb = [s[1] for s in samples]
        own = [max(0.0, s[1] - s[2]) for s in samples]
        api = [s[2] for s in samples]
        print(
            f"\nportal: {len(samples)} pages, {USERS} concurrent users, "
            f"{len(samples) / elapsed:.0f} pages/s; answers {dict(sorted(statuses.items()))}; "
            f"machine load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
            f"({os.cpu_count()} cores)"
        )
        row(
            "TTFB p50 / p95",
            f"{percentile(ttfb, 50) * 1000:.0f} / {percentile(ttfb, 95) * 1000:.0f} ms",
            "p95 < 200 ms",
        )
        row(
            "  of which in the services' APIs p50 / p95",
            f"{percentile(api, 50) * 1000:.0f} / {percentile(api, 95) * 1000:.0f} ms",
        )
        row(
            "  the portal's own p50 / p95",
            f"{percentile(own, 50) * 1000:.0f} / {percentile(own, 95) * 1000:.0f} ms",
        )
        for page in sorted({s[0] for s in samples}):
            values = [s[1] for s in samples if s[0] == page]
            apis = [s[2] for s in samples if s[0] == page]
            row(
                f"  {page} p95",
                f"{percentile(values, 95) * 1000:.0f} ms "
                f"(API {percentile(apis, 95) * 1000:.0f} ms)",
            )
        server_rows(inside_before, server_times(portal.url))
        cpu_rows(cpu_before, cpu_after, len(samples), "page")
        row(
            "  the load client (this process)",
            f"{(client_after - client_before) / len(samples) * 1000:.1f} ms",
        )
        javascript_per_page(portal.url, cookies[0], ["/", "/results", "/my-data"])


if __name__ == "__main__":
    main()
