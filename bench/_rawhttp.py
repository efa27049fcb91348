"""A lean HTTP/1.1 load client for the benches that must offer more than a Python httpx
client can send on two shared cores (the back-pressure bench offers twice what the service
sustains: httpx spends ~1 ms of CPU per request, so the load client, not the service, was the
queue). It sends pre-encoded requests over keep-alive connections and reads only the status,
the headers and a Content-Length body: tens of microseconds per request.

Bench code only: it speaks just enough HTTP/1.1 for our own services on loopback (no chunked
bodies, no TLS, no redirects). The services themselves use httpx2.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class RawClient:
    """Keep-alive connections to one origin, at most `max_connections` open; a request waits
    for a free connection when all are busy (that wait is the client's own queue)."""

    def __init__(self, base_url: str, *, max_connections: int = 1000) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self._host_header = f"{self.host}:{self.port}"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(max_connections)

    def encode(
        self, method: str, path: str, headers: dict[str, str], body: Any | None = None
    ) -> bytes:
        """The request's bytes: encode once, send as often as needed."""
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {self.prefix}{path} HTTP/1.1", f"Host: {self._host_header}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(payload)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    async def send(self, request: bytes) -> Answer:
        async with self._slots:
            if self._idle:
                reader, writer = self._idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
                headers = {}
                for line in header_lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
            except BaseException:
                writer.close()
                raise
            if headers.get("connection", "").lower() == "close":
                writer.close()
            else:
                self._idle.append((reader, writer))
            return Answer(int(status_line.split(" ", 2)[1]), headers, body)

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


@dataclass
class OpenLoop:
    """What an open-loop run saw: latencies of 2xx answers and of 503 answers with
    `Retry-After` (shed), other answers and errors, and the rate actually sent."""

    ok: list[float] = field(default_factory=list)
    shed: list[float] = field(default_factory=list)
    failed: int = 0
    sent_per_second: float = 0.0


async def open_loop(raw: RawClient, requests: list[bytes], rate: float) -> OpenLoop:
    """Send `requests` at `rate` whatever the earlier ones do, as clients in the field would.
    Each latency counts from the moment its request was due, so a client that falls behind
    shows it instead of hiding it."""
    seen = OpenLoop()

    async def one(request: bytes, due: float) -> None:
        try:
            answer = await raw.send(request)
        except (OSError, asyncio.IncompleteReadError):
            seen.failed += 1
            return
        elapsed = time.perf_counter() - due
        if 200 <= answer.status < 300:
            seen.ok.append(elapsed)
        elif answer.status == 503 and "retry-after" in answer.headers:
            seen.shed.append(elapsed)
        else:
            seen.failed += 1

    tasks = []
    start = time.perf_counter()
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    seen.sent_per_second = len(requests) / (time.perf_counter() - start)
    await asyncio.gather(*tasks)
    return seen
