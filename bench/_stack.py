"""Shared helpers for the benchmarks: an embedded NATS + database of their own, and stats.

Benchmarks print figures and compare with raw limits measured in the same run; they never
assert. Each run starts fresh servers on free ports (data in a temporary folder), unless
WK_NATS_URL / WK_MONGO_URL are set.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wijkkracht_common.embedded import free_port, start_mongo, start_nats, stop_all


@dataclass(frozen=True)
class Stack:
    nats_url: str
    mongo_url: str


@contextmanager
def embedded_stack() -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
        work = Path(tmp)
        processes = []
        nats_url = os.environ.get("WK_NATS_URL")
        mongo_url = os.environ.get("WK_MONGO_URL")
        try:
            if not nats_url:
                processes.append(start_nats(free_port(), work / "nats", work / "nats.log"))
                nats_url = processes[-1].url
            if not mongo_url:
                processes.append(start_mongo(free_port(), work / "db", work / "db.log"))
                mongo_url = processes[-1].url
            yield Stack(nats_url, mongo_url)
        finally:
            stop_all(processes)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def latency_summary(seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"p50 {percentile(ms, 50):.2f} ms, p95 {percentile(ms, 95):.2f} ms, "
        f"p99 {percentile(ms, 99):.2f} ms, mean {statistics.fmean(ms):.2f} ms (n={len(ms)})"
    )


def row(name: str, value: str, target: str = "") -> None:
    print(f"  {name:<52} {value:<28} {target}", flush=True)


def paired_ratios(rates: Sequence[float], raws: Sequence[float]) -> list[float]:
    """Each measured run against the mean of the raw runs just before and after it
    (`raws` has one more entry than `rates`: raw, run, raw, run, raw). On a shared machine
    whose speed drifts, a ratio of neighbours means the same as one taken on a quiet machine;
    best-with-best across the whole run does not."""
    if len(raws) != len(rates) + 1:
        raise ValueError("measure raw, run, raw, ..., run, raw")
    return [rate / ((raws[i] + raws[i + 1]) / 2) for i, rate in enumerate(rates)]
